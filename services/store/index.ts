export { Store, DURABLE, type StoreDeps, type Sublevel, type Encoding } from './store.js';
