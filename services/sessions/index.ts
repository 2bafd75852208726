// The sessions service's public face: the service (lifecycle, uploads, reads, the completed
// feed for the ledger) and its route plugin.
export { SessionService, type SessionServiceDeps, type CreateOptions, type CompletedListener, type AnchorLookup } from './service.js';
export { sessionRoutes, type SessionRoutesDeps } from './routes.js';
export type { CompletedItem, CompletedPage, SessionRecord, VerifyResult } from './records.js';
export type { ChunkEvent } from './context.js';
export type { ManifestIdentity } from './finalize.js';
export { SESSION_STATES, type SessionState } from './state-machine.js';
export type { SessionView } from './schemas.js';
export { chunkMetrics } from './metrics.js';
