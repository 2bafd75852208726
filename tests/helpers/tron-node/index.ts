// A TRON full-node double for tests (issue 23 §4). Independent of the project's code: it imports
// only node built-ins and @noble (tests/unit/payout/tron-double.test.ts checks that).
export { startTronNodeDouble, type TronGate, type TronNodeDouble, type TronNodeDoubleOptions } from './server.js';
export { TronChain, type Block, type Included, type Transfer, type BroadcastCode } from './chain.js';
export { decodeSigned, transferCall, base58check, addr21, type DecodedTx } from './tx-codec.js';
