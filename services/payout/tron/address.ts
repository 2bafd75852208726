// TRON addresses: the one pure implementation lives in hal/wallet/tron-address.ts (shared with
// services/auth and the simulated Ledger); the payout process uses it through this module.
export { TRON_ADDRESS_PATTERN, addressOfPrivateKey, addressOfPublicKey, fromBase58, isTronAddress, toBase58 } from '../../../hal/wallet/tron-address.js';
