// No double-signing, ever. Before a proposal or vote leaves the node, its record — (height,
// round, step, sign bytes, signature) and the lock — is made durable; after that the node signs
// only strictly later steps. Asking again for the same step gives back the stored signature:
// identical bytes are re-sent, different bytes are refused (the caller re-sends the stored
// message instead). Every record of the current height is kept, so a restarted node re-sends
// what it had signed (the paper's gossip assumes a correct process's messages keep arriving).
// Synchronous on purpose: the engine is synchronous and a write is one small append + fdatasync
// per message (about three per height).

export const SIGN_STEP = { proposal: 0, prevote: 1, precommit: 2 } as const;
export type SignStep = (typeof SIGN_STEP)[keyof typeof SIGN_STEP];

export interface SignRecord {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly signBytes: Buffer;
  readonly signature: Buffer;
  /** The lock when this was signed (the paper's lockedRound/lockedValue), restored after a crash. */
  readonly lockedRound: number;
  readonly lockedId: string | null;
}

export interface GuardStorage {
  /** The records of the highest height signed (in signing order) and the locked block. */
  load(): { records: SignRecord[]; lockedBlock: Buffer | null };
  /** Durable when it returns. `lockedBlock` (when given) is written before the record. */
  save(record: SignRecord, lockedBlock: Buffer | null): void;
}

export interface SignRequest {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly signBytes: Buffer;
  readonly lockedRound: number;
  readonly lockedId: string | null;
  /** The locked block's bytes, saved when the lock changes (so a full restart can re-propose it). */
  readonly lockedBlock?: Buffer | null;
}

export type SignOutcome =
  | { readonly kind: 'signed'; readonly signature: Buffer }
  /** The same message was signed before: here is its signature again. */
  | { readonly kind: 'repeat'; readonly signature: Buffer }
  /** A different message was signed for this very step: never sign; re-send `record` if anything. */
  | { readonly kind: 'conflict'; readonly record: SignRecord }
  /** A later step was already signed: nothing may be signed for this one. */
  | { readonly kind: 'refused'; readonly record: SignRecord };

export function compareSteps(a: { height: number; round: number; step: number }, b: { height: number; round: number; step: number }): number {
  return a.height - b.height || a.round - b.round || a.step - b.step;
}

export class SignGuard {
  private records: SignRecord[];
  private locked: Buffer | null;

  constructor(private readonly storage: GuardStorage, private readonly signFn: (bytes: Uint8Array) => Buffer) {
    const loaded = storage.load();
    this.records = loaded.records;
    this.locked = loaded.lockedBlock;
  }

  get last(): SignRecord | null {
    return this.records[this.records.length - 1] ?? null;
  }

  /** Everything signed at `height` (only the highest height signed is remembered). */
  signedAt(height: number): readonly SignRecord[] {
    return this.records.filter((r) => r.height === height);
  }

  /** The block saved with the current lock (check its hash against last.lockedId before use). */
  get lockedBlock(): Buffer | null {
    return this.locked;
  }

  sign(req: SignRequest): SignOutcome {
    const last = this.last;
    if (last) {
      const c = compareSteps(req, last);
      if (c < 0) return { kind: 'refused', record: last };
      if (c === 0) return last.signBytes.equals(req.signBytes) ? { kind: 'repeat', signature: last.signature } : { kind: 'conflict', record: last };
    }
    const signature = this.signFn(req.signBytes);
    const record: SignRecord = {
      height: req.height, round: req.round, step: req.step, signBytes: req.signBytes, signature,
      lockedRound: req.lockedRound, lockedId: req.lockedId,
    };
    const newLock = req.lockedBlock && req.lockedId !== null && (last?.lockedId !== req.lockedId || this.locked === null) ? req.lockedBlock : null;
    this.storage.save(record, newLock);
    this.records = last && last.height === record.height ? [...this.records, record] : [record];
    if (newLock) this.locked = newLock;
    return { kind: 'signed', signature };
  }
}

/** In-memory storage: the simulator's "disk" (it survives a simulated crash, not a real one). */
export class MemoryGuardStorage implements GuardStorage {
  records: SignRecord[] = [];
  lockedBlock: Buffer | null = null;
  get record(): SignRecord | null {
    return this.records[this.records.length - 1] ?? null;
  }
  load(): { records: SignRecord[]; lockedBlock: Buffer | null } {
    return { records: [...this.records], lockedBlock: this.lockedBlock };
  }
  save(record: SignRecord, lockedBlock: Buffer | null): void {
    if (lockedBlock) this.lockedBlock = lockedBlock;
    const last = this.record;
    this.records = last && last.height === record.height ? [...this.records, record] : [record];
  }
}
