export { loadOrCreateNodeIdentity, nodeIdOf, rawPublicKey, NODE_KEY_FILE, type NodeIdentity } from './node-identity.js';
