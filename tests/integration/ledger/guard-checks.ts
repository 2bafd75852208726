// Double-sign checks from durable data only (issue 18, point 11): a node that was itself killed
// and restarted cannot vouch for itself from memory. Three sources:
//   guard files   <data>/ledger/sign-log.bin of every node (read with the production decoder,
//                 snapshot right after each kill and again at the end; the log rotates)
//   stored chain  every commit each node stored, and every block's last commit, from LevelDB
//                 once the processes are gone; each signature is verified (Ed25519)
//   evidence      what each node persisted about equivocations it saw (ledger-evidence)
// Two different sign bytes for one (key, height, round, step) anywhere is a double sign.
import { closeSync, fstatSync, openSync, readFileSync, readSync, watch } from 'node:fs';
import { join } from 'node:path';
import { decodeGuardRecord, GUARD_RECORD_BYTES } from '../../../services/ledger/consensus/guard-file.js';
import { SIGN_STEP, type SignRecord } from '../../../services/ledger/consensus/sign-guard.js';
import { voteSignBytes } from '../../../services/ledger/codec/vote.js';
import { ChainStore, type LevelPort } from '../../../services/ledger/store/chain-store.js';
import type { Evidence } from '../../../services/ledger/consensus/engine-types.js';
import { ed25519Verifier } from '../../../services/ledger/crypto.js';
import { Store } from '../../../services/store/index.js';
import { silentLogger } from '../../../services/common/log.js';

export type SignedStep = SignRecord & { readonly key: string };

function readLog(dataDir: string): Array<{ seq: number; record: SignRecord }> {
  let buf: Buffer;
  try {
    buf = readFileSync(join(dataDir, 'ledger', 'sign-log.bin'));
  } catch {
    return [];
  }
  const out: Array<{ seq: number; record: SignRecord }> = [];
  for (let off = 0; off + GUARD_RECORD_BYTES <= buf.length; off += GUARD_RECORD_BYTES) {
    const r = decodeGuardRecord(buf.subarray(off, off + GUARD_RECORD_BYTES));
    if (r) out.push(r); // a torn tail (a write in progress) is not a record yet
  }
  return out;
}

export function guardRecords(dataDir: string): SignRecord[] {
  return readLog(dataDir).map((r) => r.record);
}

/** The last complete record only (one 512-byte read: the kill must not wait for a whole log). */
function lastRecord(dataDir: string): { seq: number; record: SignRecord } | null {
  let fd: number;
  try {
    fd = openSync(join(dataDir, 'ledger', 'sign-log.bin'), 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const at = Math.floor(size / GUARD_RECORD_BYTES) * GUARD_RECORD_BYTES - GUARD_RECORD_BYTES;
    if (at < 0) return null;
    const buf = Buffer.alloc(GUARD_RECORD_BYTES);
    readSync(fd, buf, 0, GUARD_RECORD_BYTES, at);
    return decodeGuardRecord(buf);
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGKILLs `pid` as soon as the guard log in `dataDir` shows a prevote or precommit record newer
 * than the ones there now (an inotify watch on the directory, which also sees the log rotate).
 */
export function killRightAfterSigning(dataDir: string, pid: number, timeoutMs: number): Promise<{ record: SignRecord; records: SignRecord[]; reactionMs: number }> {
  const armedAt = readLog(dataDir).at(-1)?.seq ?? 0;
  return new Promise((resolve, reject) => {
    let done = false;
    const watcher = watch(join(dataDir, 'ledger'), (_event, name) => {
      if (done || name !== 'sign-log.bin') return;
      const at = performance.now();
      const last = lastRecord(dataDir);
      if (!last || last.seq <= armedAt || (last.record.step !== SIGN_STEP.prevote && last.record.step !== SIGN_STEP.precommit)) return;
      process.kill(pid, 'SIGKILL');
      done = true;
      const reactionMs = Math.round((performance.now() - at) * 10) / 10;
      watcher.close();
      clearTimeout(timer);
      resolve({ record: last.record, records: guardRecords(dataDir), reactionMs });
    });
    const timer = setTimeout(() => {
      done = true;
      watcher.close();
      reject(new Error(`no new vote in ${dataDir}/ledger/sign-log.bin within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

export interface StoredSignature {
  readonly validator: string;
  readonly height: number;
  readonly round: number;
  readonly blockHash: Buffer;
}

/** Every precommit signature in the commits and blocks one node stored, verified; its persisted evidence. */
export async function storedSignatures(dataDir: string, chainId: string): Promise<{ signatures: StoredSignature[]; badSignatures: number; evidence: Evidence[]; height: number }> {
  const store = new Store({ location: join(dataDir, 'store'), log: silentLogger() });
  for (let attempt = 0; ; attempt++) {
    try {
      await store.start();
      break;
    } catch (err) {
      if (attempt > 50) throw err; // the killed process's lock goes with it, but give the kernel a moment
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    const chain = new ChainStore(store as unknown as LevelPort);
    const height = (await chain.head())?.height ?? 0;
    const verifier = ed25519Verifier();
    const signatures: StoredSignature[] = [];
    let badSignatures = 0;
    for (let h = 1; h <= height; h++) {
      const commits = [await chain.commit(h), (await chain.block(h))?.lastCommit ?? null];
      for (const c of commits) {
        if (!c) continue;
        for (const s of c.signatures) {
          const msg = voteSignBytes(chainId, { type: 'precommit', height: c.height, round: c.round, value: c.blockHash });
          if (!verifier.verify(s.validator, msg, s.signature)) badSignatures++;
          signatures.push({ validator: s.validator.toString('hex'), height: c.height, round: c.round, blockHash: c.blockHash });
        }
      }
    }
    return { signatures, badSignatures, evidence: await chain.evidence(), height };
  } finally {
    await store.stop();
  }
}

/** Every (key, height, round, step) signed two different ways, across guard records and stored commits. */
export function findDoubleSigns(records: readonly SignedStep[], stored: readonly StoredSignature[], chainId: string): string[] {
  const signed = new Map<string, string>();
  const problems: string[] = [];
  const note = (key: string, height: number, round: number, step: number, bytes: Buffer, where: string): void => {
    const k = `${key.slice(0, 12)} h${height}/r${round}/step${step}`;
    const prev = signed.get(k);
    if (prev === undefined) signed.set(k, bytes.toString('hex'));
    else if (prev !== bytes.toString('hex')) problems.push(`${k}: two different messages (${where})`);
  };
  for (const r of records) note(r.key, r.height, r.round, r.step, r.signBytes, 'guard log');
  for (const s of stored) {
    note(s.validator, s.height, s.round, SIGN_STEP.precommit, voteSignBytes(chainId, { type: 'precommit', height: s.height, round: s.round, value: s.blockHash }), 'stored commit');
  }
  return [...new Set(problems)];
}
