// Core's face of services/payout: the client of the payout process, the protocol's types, the
// texts approvers sign, amounts, and the statement arithmetic (pure). Nothing reachable from
// here imports TRON code — core never loads tronweb (tests/unit/architecture.test.ts). The
// payout process itself is composed from process.ts.
export { PayoutClient, type PayoutClientOptions } from './client.js';
export { PROTOCOL_VERSION, OPS, type Op, type OpArgs } from './protocol.js';
export { payoutApprovalText, addressChangeText, enrollmentText, formatUsdt, parseUsdt } from './messages.js';
export { computeStatement, DEFAULT_STATEMENT_PARAMS, MICRO, type OperatorCredits, type ComputedStatement, type StatementLine } from '../statement/index.js';
export { statementDocument, statementHash, STATEMENT_FORMAT, type StatementDocument } from '../statement/index.js';
export { payoutRoutes, type PayoutRoutesDeps, type PayoutAuditEntry, type CreditSetSource } from './routes.js';
export { PayoutTwoPerson, PAYOUT_APPROVE, PAYOUT_ADDRESS, type ApprovalsPort } from './two-person.js';
