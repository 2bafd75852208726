export { Store, type StoreDeps, type Sublevel, type Encoding } from './store.js';
