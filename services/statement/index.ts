// The payout statement of an epoch, as pure code shared by the chain (services/ledger: the
// validators' rule for a `statement` transaction) and the payout process (what it pays): integer
// arithmetic, the canonical document and its hash, and the offline check of a statement's anchor.
// No TRON code here (tests/unit/architecture.test.ts): the addresses live only in services/payout.
export { computeStatement, apportion, DEFAULT_STATEMENT_PARAMS, MICRO, type OperatorCredits, type ComputedStatement, type StatementLine, type StatementParams, type StatementTotals } from './arithmetic.js';
export { statementDocument, statementHash, statementBytes, lineJson, lineFromJson, STATEMENT_FORMAT, type StatementDocument } from './document.js';
export { epochStatement, carriedOut, type EpochStatementInput, type EpochStatement } from './epoch.js';
export { verifyStatementAnchor, STATEMENT_TX_BYTES, type StatementAnchorProof, type PinnedValidators, type VerifiedAnchor } from './anchor-proof.js';
