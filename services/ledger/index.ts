// The ledger's public face: the PoOT chain service, its routes, the anchor-source port, the
// genesis tools (for the CLI) and the formats a third party needs to check an anchor.
export { LedgerService, type LedgerConfig, type LedgerDeps, type LedgerIdentity, type BlockStat } from './service.js';
export { ledgerRoutes, AnchorProofSchema } from './routes.js';
export { MemoryAnchorSource, type AnchorSource, type CompletedManifest } from './anchors/source.js';
export type { AnchorProof } from './anchors/proof.js';
export { makeGenesis, parseGenesis, genesisHash, canonicalJson, DEFAULT_PARAMS, type Genesis, type ChainParams, type GenesisValidator } from './chain/genesis.js';
export { credits, type Credits, type WorkCounts } from './chain/state.js';
export type { ChunkPort, ChunkQuery, StoredChunk } from './credits/worker.js';
export type { LevelPort } from './store/chain-store.js';
