// Entry of dist/web/updates.js: the Updates page (OTA and fleet enrollment), loaded on demand
// (../lazy.ts) — visited rarely, and its fleet section pushed app.js past its budget.
export { updatesPage } from './updates.js';
