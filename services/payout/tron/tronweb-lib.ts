// The entry of dist/lib/tronweb.mjs (image/bundle.mjs): tronweb bundled on its own, loaded by the
// payout process the first time it builds a transaction (tron/builder.ts imports 'tronweb').
export { TronWeb } from 'tronweb';
