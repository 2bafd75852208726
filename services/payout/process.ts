// The payout process's face (appliance/entries/payout.ts composes it): the service, its socket
// server, the TRON node client, the signers. This is the only module graph that reaches tronweb
// (lazily, in tron/builder.ts).
export { PayoutService, type PayoutServiceDeps } from './service.js';
export { PayoutServer, type PayoutServerDeps } from './server.js';
export { createTronNode, type TronNode, type TronNodeOptions } from './tron/node-client.js';
export { keystoreSigner, ledgerSigner, type PayoutSigner, type SigningMethod } from './signing/signer.js';
export { Keystore } from './signing/keystore.js';
export { coreReportedCredits, type CreditVerifier } from './statement/book.js';
export { DEFAULT_LIMITS, usdt, type PayoutLimits } from './limits.js';
export { loadTronWeb } from './tron/builder.js';
export type { EngineConfig } from './engine.js';
