'use strict';
// CommonJS on purpose (this package has no "type"): a .node addon can only be require()d.
module.exports = require('./build/Release/sd_notify.node');
