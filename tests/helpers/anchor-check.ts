// An independent check of an anchor proof, written from services/ledger/README.md with nothing
// but node:crypto — deliberately none of the project's ledger code — so that a bug shared by the
// prover and the project's own verifier cannot hide. It is what a third party would write.
import { createHash, createPublicKey, verify } from 'node:crypto';

export interface TrustedValidator {
  readonly publicKey: string;
  readonly power: number;
}

export interface ProofJson {
  height: number; txIndex: number; txCount: number; tx: string; path: string[];
  header: { chainId: string; height: number; txRoot: string; txCount: number; hash: string; bytes: string; [k: string]: unknown };
  commit: { height: number; round: number; blockHash: string; signatures: Array<{ validator: string; signature: string }> };
}

const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const spki = (raw: Buffer) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
const u64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };

/** Returns null when the proof holds, else the first reason it does not. */
export function checkAnchorProof(p: ProofJson, expect: { manifestHash: string; merkleRoot?: string; sessionId?: string }, validators: readonly TrustedValidator[]): string | null {
  const tx = Buffer.from(p.tx, 'base64');
  // 1. The transaction is an anchor of the manifest (README "Transactions"), signed by its node.
  if (tx[0] !== 2 || tx[1] !== 1) return 'not a version-2 anchor transaction';
  const sid = tx.subarray(2, 18).toString('hex');
  const sessionId = `${sid.slice(0, 8)}-${sid.slice(8, 12)}-${sid.slice(12, 16)}-${sid.slice(16, 20)}-${sid.slice(20)}`;
  let o = 18;
  const manifestHash = tx.subarray(o, o + 32).toString('hex'); o += 32;
  const merkleRoot = tx.subarray(o, o + 32).toString('hex'); o += 32;
  const node = tx.subarray(o, o + 32); o += 32;
  o += 4 + 4 + 8; // the manifest's chunkCount, chunkSize, totalBytes
  const txSig = tx.subarray(o, o + 64); o += 64;
  if (o !== tx.length) return 'anchor transaction has the wrong length';
  if (manifestHash !== expect.manifestHash) return 'anchor is for another manifest';
  if (expect.merkleRoot && merkleRoot !== expect.merkleRoot) return 'anchor carries another Merkle root';
  if (expect.sessionId && sessionId !== expect.sessionId) return 'anchor carries another session id';
  const chainId = Buffer.from(p.header.chainId, 'utf8');
  const txSignBytes = Buffer.concat([Buffer.from('lucid/tx/v1'), Buffer.of(chainId.length), chainId, tx.subarray(0, tx.length - 64)]);
  if (!verify(null, txSignBytes, spki(node), txSig)) return 'anchor signature does not verify';
  // 2. RFC 6962: leaf = H(0x00 ‖ tx); the audit path leads to the header's txRoot (RFC 9162 §2.1.3.2).
  let fn = p.txIndex;
  let sn = p.txCount - 1;
  let r = sha(Buffer.of(0), tx);
  for (const hex of p.path) {
    const s = Buffer.from(hex, 'hex');
    if (sn === 0) return 'path too long';
    if (fn % 2 === 1 || fn === sn) {
      r = sha(Buffer.of(1), s, r);
      while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = sha(Buffer.of(1), r, s);
    }
    fn >>= 1; sn >>= 1;
  }
  if (sn !== 0) return 'path too short';
  // 3. The header bytes (README "Blocks": version, str8 chain id, u64 height, u32 round, u64 time,
  //    prevHash, proposer, txRoot, u32 txCount, lastCommitHash, validatorsHash).
  const hb = Buffer.from(p.header.bytes, 'hex');
  const cl = hb[1]!;
  const at = 2 + cl;
  if (hb[0] !== 1 || hb.length !== at + 8 + 4 + 8 + 32 + 32 + 32 + 4 + 32 + 32) return 'header bytes malformed';
  if (hb.subarray(2, at).toString('utf8') !== p.header.chainId) return 'header chain id mismatch';
  const height = Number(hb.readBigUInt64BE(at));
  const txRoot = hb.subarray(at + 8 + 4 + 8 + 64, at + 8 + 4 + 8 + 96);
  const txCount = hb.readUInt32BE(at + 8 + 4 + 8 + 96);
  if (!txRoot.equals(r)) return 'path does not reach the header\'s txRoot';
  if (txCount !== p.txCount || height !== p.height) return 'header height/txCount disagree with the proof';
  const hash = sha(hb);
  // 4. The commit: precommits for this hash from more than 2/3 of the trusted validators' power.
  if (p.commit.blockHash !== hash.toString('hex') || p.commit.height !== height) return 'commit is for another block';
  const voteBytes = Buffer.concat([Buffer.from('lucid/vote/v1'), Buffer.of(chainId.length), chainId, Buffer.of(2), u64(height), u32(p.commit.round), Buffer.of(1), hash]);
  const total = validators.reduce((a, v) => a + v.power, 0);
  let signed = 0;
  const seen = new Set<string>();
  for (const s of p.commit.signatures) {
    const v = validators.find((x) => x.publicKey === s.validator);
    if (!v || seen.has(s.validator)) continue;
    if (!verify(null, voteBytes, spki(Buffer.from(s.validator, 'hex')), Buffer.from(s.signature, 'hex'))) return `commit signature of ${s.validator.slice(0, 12)}… does not verify`;
    seen.add(s.validator);
    signed += v.power;
  }
  if (!(3 * signed > 2 * total)) return `commit holds ${signed} of ${total} power, not more than 2/3`;
  return null;
}
