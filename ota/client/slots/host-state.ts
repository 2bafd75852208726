// The agent's side of the host step's files (ota/host/lucid-ota-boot.sh). It reads
// `<host>/boot/state` (written only by the host step, as root) to learn which slot runs, whether
// a trial is on and how the last one ended; it asks for things by writing small key=value files
// into `<data>/ota/host/` — `trial` (boot this slot next, on trial), `commit` (the trial passed
// its gate), `fail` (it did not, with the reason). Each request is written atomically, fsynced.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, fsyncDir } from '../../../services/common/fs-atomic.js';
import type { SlotName } from './slot-store.js';

export interface HostState {
  readonly seq: number;
  readonly committed: SlotName;
  readonly trial: SlotName | null;
  readonly trialId: string | null;
  readonly trialVersion: string | null;
  readonly boots: number;
  readonly maxBoots: number;
  readonly trialStarted: number;
  readonly last: { readonly id: string; readonly outcome: 'committed' | 'rolled-back'; readonly reason: string; readonly version: string; readonly at: number } | null;
  /** A slot the host hands back to the agent at the next start (just left by a trial). */
  readonly release: SlotName | null;
}

export interface HostHistoryEntry {
  readonly at: number;
  readonly id: string;
  readonly version: string;
  readonly slot: string;
  readonly outcome: string;
  readonly boots: number;
  readonly reason: string;
}

const slot = (v: string | undefined): SlotName | null => (v === 'a' || v === 'b' ? v : null);
const num = (v: string | undefined): number => (v && /^\d+$/.test(v) ? Number(v) : 0);

export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !(line.slice(0, eq) in out)) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** A value the host step accepts for ids and versions (it checks the same pattern). */
export const HOST_ID = /^[A-Za-z0-9._+-]{1,80}$/;

export class HostFiles {
  constructor(readonly hostDir: string, readonly dataDir: string) {}

  get requestsDir(): string { return join(this.dataDir, 'ota', 'host'); }

  async state(): Promise<HostState | null> {
    const text = await readFile(join(this.hostDir, 'boot', 'state'), 'utf8').catch(() => null);
    if (text === null) return null;
    const kv = parseKeyValues(text);
    const committed = slot(kv['committed']);
    if (!committed) return null;
    const outcome = kv['last_outcome'];
    return {
      seq: num(kv['seq']),
      committed,
      trial: slot(kv['trial']),
      trialId: kv['trial_id'] || null,
      trialVersion: kv['trial_version'] || null,
      boots: num(kv['boots']),
      maxBoots: num(kv['max_boots']) || 3,
      trialStarted: num(kv['trial_started']),
      last: kv['last_id'] && (outcome === 'committed' || outcome === 'rolled-back')
        ? { id: kv['last_id'], outcome, reason: kv['last_reason'] ?? '', version: kv['last_version'] ?? '', at: num(kv['last_at']) }
        : null,
      release: slot(kv['release']),
    };
  }

  /** The slot this process tree was started from: the trial slot during a trial, else the active one. */
  static running(state: HostState): SlotName {
    return state.trial ?? state.committed;
  }

  async history(): Promise<HostHistoryEntry[]> {
    const text = await readFile(join(this.hostDir, 'boot', 'history'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((line) => {
      const sp = line.indexOf(' ');
      const kv: Record<string, string> = {};
      const rest = line.slice(sp + 1);
      const reasonAt = rest.indexOf(' reason=');
      for (const part of (reasonAt >= 0 ? rest.slice(0, reasonAt) : rest).split(' ')) {
        const eq = part.indexOf('=');
        if (eq > 0) kv[part.slice(0, eq)] = part.slice(eq + 1);
      }
      return {
        at: num(line.slice(0, sp)), id: kv['id'] ?? '', version: kv['version'] ?? '', slot: kv['slot'] ?? '',
        outcome: kv['outcome'] ?? '', boots: num(kv['boots']), reason: reasonAt >= 0 ? rest.slice(reasonAt + 8) : '',
      };
    });
  }

  private async request(name: 'trial' | 'commit' | 'fail', fields: Record<string, string>): Promise<void> {
    const body = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/[\r\n]/g, ' ')}`).join('\n');
    await writeFileAtomic(join(this.requestsDir, name), `${body}\n`);
  }

  requestTrial(slotName: SlotName, id: string, version: string): Promise<void> {
    return this.request('trial', { slot: slotName, id, version });
  }

  requestCommit(id: string): Promise<void> {
    return this.request('commit', { id });
  }

  requestFail(id: string, reason: string): Promise<void> {
    return this.request('fail', { id, reason: reason.slice(0, 300) });
  }

  /** What became of the last trial request: taken (the host booted it), invalid, or still pending. */
  async trialRequest(): Promise<{ pending: Record<string, string> | null; invalid: Record<string, string> | null }> {
    const read = async (n: string): Promise<Record<string, string> | null> => {
      const t = await readFile(join(this.requestsDir, n), 'utf8').catch(() => null);
      return t === null ? null : parseKeyValues(t);
    };
    return { pending: await read('trial'), invalid: await read('trial.invalid') };
  }

  async clear(name: 'trial' | 'trial.invalid' | 'commit' | 'fail'): Promise<void> {
    await rm(join(this.requestsDir, name), { force: true });
    await fsyncDir(this.requestsDir).catch(() => {});
  }
}
