// Payout records on disk: <payout data>/payouts/<epoch>-<operator>.json, one per payout,
// written atomically and durably at every transition (a transition is acknowledged — to core,
// to the log, to the next step — only after its write is on disk). All records are kept in
// memory too: a payout process handles at most one payout per operator and epoch.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, errnoCode } from '../../common/errors.js';
import { mkdirDurable, writeFileAtomic } from '../../common/fs-atomic.js';
import { canMove, fileOf, type PayoutRecord, type PayoutState } from './record.js';

export class PayoutStore {
  private readonly records = new Map<string, PayoutRecord>();

  constructor(private readonly dir: string, private readonly now: () => number = Date.now) {}

  async load(): Promise<void> {
    await mkdirDurable(this.dir);
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      try {
        const r = JSON.parse(await readFile(join(this.dir, f), 'utf8')) as PayoutRecord;
        this.records.set(r.id, r);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw new LucidError('PAYOUT_ERR_STATE', `payout record ${f} is unreadable: ${(err as Error).message}`);
      }
    }
  }

  get(id: string): PayoutRecord | undefined { return this.records.get(id); }
  all(): PayoutRecord[] { return [...this.records.values()].sort((a, b) => a.epoch - b.epoch || (a.operator < b.operator ? -1 : 1)); }

  /** Writes a new record; PAYOUT_ERR_DUPLICATE when one with its id exists. */
  async create(r: PayoutRecord): Promise<void> {
    if (this.records.has(r.id)) throw new LucidError('PAYOUT_ERR_DUPLICATE', `payout ${r.id} was requested already`, { id: r.id, state: this.records.get(r.id)!.state });
    await this.write(r);
  }

  /** Applies `change` to a copy, moves it to `to` (checked), writes it durably, then keeps it. */
  async update(id: string, to: PayoutState | null, change: (r: PayoutRecord) => void, note?: string): Promise<PayoutRecord> {
    const cur = this.records.get(id);
    if (!cur) throw new LucidError('PAYOUT_ERR_NOT_FOUND', `no payout ${id}`);
    const next = structuredClone(cur);
    change(next);
    if (to !== null && to !== cur.state) {
      if (!canMove(cur.state, to)) throw new LucidError('PAYOUT_ERR_STATE', `payout ${id} cannot go from ${cur.state} to ${to}`, { state: cur.state });
      next.state = to;
      next.history.push({ state: to, at: this.now(), ...(note ? { note } : {}) });
    }
    await this.write(next);
    return next;
  }

  private async write(r: PayoutRecord): Promise<void> {
    await writeFileAtomic(join(this.dir, fileOf(r.id)), `${JSON.stringify(r)}\n`, { mode: 0o600, mkdir: false });
    this.records.set(r.id, r);
  }
}
