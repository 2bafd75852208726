// The TRON node double's own reading of transactions — written from the protocol's .proto
// field numbers with node:crypto and @noble only, none of the project's code (a test checks
// this folder's imports), so it checks services/payout independently, as a real node would.
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

type Fields = Map<number, Array<bigint | Uint8Array>>;

function varint(b: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  for (let i = at, s = 0n; i < b.length; i++, s += 7n) {
    v |= BigInt(b[i]! & 0x7f) << s;
    if (!(b[i]! & 0x80)) return [v, i + 1];
  }
  throw new Error('truncated varint');
}

export function parse(b: Uint8Array): Fields {
  const out: Fields = new Map();
  for (let at = 0; at < b.length;) {
    const [tag, p] = varint(b, at);
    const n = Number(tag >> 3n);
    let value: bigint | Uint8Array;
    if ((tag & 7n) === 0n) [value, at] = varint(b, p);
    else if ((tag & 7n) === 2n) {
      const [len, q] = varint(b, p);
      if (q + Number(len) > b.length) throw new Error('field past the end');
      value = b.subarray(q, q + Number(len));
      at = q + Number(len);
    } else throw new Error(`wire type ${tag & 7n}`);
    out.set(n, [...(out.get(n) ?? []), value]);
  }
  return out;
}

const one = <T extends bigint | Uint8Array>(f: Fields, n: number): T | undefined => f.get(n)?.[0] as T | undefined;
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

export function base58check(addr21: Uint8Array): string {
  const full = Buffer.concat([addr21, sha(sha(addr21)).subarray(0, 4)]);
  let n = BigInt(`0x${full.toString('hex')}`);
  let s = '';
  while (n > 0n) { s = ALPHABET[Number(n % 58n)]! + s; n /= 58n; }
  return s;
}

export function addr21(base58: string): Buffer {
  let n = 0n;
  for (const c of base58) n = n * 58n + BigInt(ALPHABET.indexOf(c));
  const full = Buffer.from(n.toString(16).padStart(50, '0'), 'hex');
  if (full.length !== 25 || !sha(sha(full.subarray(0, 21))).subarray(0, 4).equals(full.subarray(21))) throw new Error(`bad address ${base58}`);
  return full.subarray(0, 21);
}

export interface DecodedTx {
  readonly txid: string;
  readonly rawData: Uint8Array;
  readonly signature: Uint8Array;
  readonly refBlockBytes: string;
  readonly refBlockHash: string;
  readonly expiration: number;
  readonly timestamp: number;
  readonly feeLimit: number;
  readonly contractType: number;
  readonly owner: string;
  readonly contract: string;
  readonly data: Uint8Array;
  /** The address the signature recovers to (null when it does not verify). */
  readonly signer: string | null;
}

export function decodeSigned(hex: string): DecodedTx {
  const tx = parse(Buffer.from(hex, 'hex'));
  const rawData = one<Uint8Array>(tx, 1);
  const signature = one<Uint8Array>(tx, 2);
  if (!rawData || !signature) throw new Error('no raw_data or no signature');
  const raw = parse(rawData);
  const contract = parse(one<Uint8Array>(raw, 11) ?? new Uint8Array());
  const any = parse(one<Uint8Array>(contract, 2) ?? new Uint8Array());
  const trigger = parse(one<Uint8Array>(any, 2) ?? new Uint8Array());
  const txid = sha(rawData).toString('hex');
  return {
    txid, rawData, signature,
    refBlockBytes: Buffer.from(one<Uint8Array>(raw, 1) ?? []).toString('hex'),
    refBlockHash: Buffer.from(one<Uint8Array>(raw, 4) ?? []).toString('hex'),
    expiration: Number(one<bigint>(raw, 8) ?? 0n),
    timestamp: Number(one<bigint>(raw, 14) ?? 0n),
    feeLimit: Number(one<bigint>(raw, 18) ?? 0n),
    contractType: Number(one<bigint>(contract, 1) ?? -1n),
    owner: base58check(one<Uint8Array>(trigger, 1) ?? new Uint8Array(21)),
    contract: base58check(one<Uint8Array>(trigger, 2) ?? new Uint8Array(21)),
    data: one<Uint8Array>(trigger, 4) ?? new Uint8Array(),
    signer: recover(txid, signature),
  };
}

function recover(txid: string, sig: Uint8Array): string | null {
  if (sig.length !== 65) return null;
  const v = sig[64]! >= 27 ? sig[64]! - 27 : sig[64]!;
  try {
    const pub = secp256k1.recoverPublicKey(Uint8Array.of(v, ...sig.subarray(0, 64)), Buffer.from(txid, 'hex'), { prehash: false });
    const point = secp256k1.Point.fromBytes(pub).toBytes(false);
    return base58check(Uint8Array.of(0x41, ...keccak_256(point.subarray(1)).subarray(12)));
  } catch {
    return null;
  }
}

/** transfer(address,uint256) call data → recipient and amount, or null for any other call. */
export function transferCall(data: Uint8Array): { to: string; amount: bigint } | null {
  const selector = Buffer.from(keccak_256(new TextEncoder().encode('transfer(address,uint256)')).subarray(0, 4)).toString('hex');
  if (data.length !== 68 || Buffer.from(data.subarray(0, 4)).toString('hex') !== selector) return null;
  return { to: base58check(Uint8Array.of(0x41, ...data.subarray(16, 36))), amount: BigInt(`0x${Buffer.from(data.subarray(36)).toString('hex')}`) };
}

export const sha256hex = (b: Uint8Array): string => sha(b).toString('hex');
