// The chain parameters of the work-credit rules (README "Work credits"). They are part of the
// genesis (params.*, each a positive integer) because every validator must apply the same rules;
// these are the defaults a genesis gets when it does not name them.

export interface CreditParams {
  /** A node with anchored sessions in the window is audited (one storage challenge) at most once per period. */
  readonly challengePeriodMs: number;
  /** An answer counts only in a block whose time is at most this long after the challenge's block. */
  readonly answerMs: number;
  /** Verdicts count only in a block whose time is at most this long after the answer's block. */
  readonly verifyMs: number;
  /** Uptime: the longest gap between two blocks one commit signature vouches for. */
  readonly uptimeMaxGapMs: number;
  /** Per-epoch caps of each credit kind (uptime is capped by the epoch's length itself). */
  readonly relayCap: number;
  readonly storageCap: number;
  readonly validationCap: number;
}

export const CREDIT_PARAMS: CreditParams = {
  challengePeriodMs: 3_600_000,
  answerMs: 300_000,
  verifyMs: 600_000,
  uptimeMaxGapMs: 3_600_000,
  // 100 GB of relayed plaintext a day (5 MB per credit), far above what one appliance ingests.
  relayCap: 20_000,
  // One audit per hour: 24 a day.
  storageCap: 24,
  // One commit signature per 10 s slot: 8,640 a day.
  validationCap: 8_640,
};

/** 1 MB = 10⁶ bytes; relay = max(sessions, ceil(bytes / 5 MB)) (DESIGN §2). */
export const RELAY_BYTES_PER_CREDIT = 5_000_000;
