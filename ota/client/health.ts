// The inputs of the trial's health gate: whether every critical child is ready (and since when,
// without interruption), whether the supervisor gave up on one, and the image's self-test run as
// a separate process (appliance/entries/selftest.ts: addons, crypto, a store, the API).
import { spawn } from 'node:child_process';
import type { SupervisorSnapshot } from '../../services/common/ipc.js';
import type { Health } from './planner.js';

export class HealthTracker {
  private readySince: number | null = null;
  private last: Health = { criticalReady: false, readySince: null, failed: null, reasons: ['no supervisor snapshot yet'] };

  constructor(private readonly now: () => number) {}

  update(snapshot: SupervisorSnapshot): Health {
    const critical = snapshot.children.filter((c) => c.critical);
    const criticalReady = critical.length > 0 && critical.every((c) => c.phase === 'ready');
    const failedChild = critical.find((c) => c.phase === 'failed');
    if (criticalReady) this.readySince ??= this.now();
    else this.readySince = null;
    this.last = {
      criticalReady,
      readySince: this.readySince,
      failed: failedChild ? `${failedChild.name} failed: ${failedChild.failedReason ?? 'unknown'}` : null,
      reasons: critical.filter((c) => c.phase !== 'ready').map((c) => `${c.name} is ${c.phase}`),
    };
    return this.last;
  }

  get current(): Health {
    return this.last;
  }
}

export interface SelftestResult { readonly ok: boolean; readonly reason: string | null }

/**
 * Runs `node <entry>` and reads its one JSON report. `ok` only when it exits 0 and says ok; the
 * reason names the failed checks.
 */
export function runSelftest(entry: string, env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<SelftestResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { if (out.length < 1_000_000) out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { if (err.length < 10_000) err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); resolve({ ok: false, reason: `could not start: ${e.message}` }); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      type Report = { ok?: boolean; checks?: Array<{ name: string; ok: boolean; error?: string }>; error?: string };
      const report = ((): Report | null => {
        try {
          return JSON.parse(out) as Report;
        } catch {
          return null;
        }
      })();
      if (code === 0 && report?.ok === true) { resolve({ ok: true, reason: null }); return; }
      const failed = report?.checks?.filter((c) => !c.ok).map((c) => `${c.name}${c.error ? ` (${c.error.slice(0, 120)})` : ''}`) ?? [];
      const why = failed.length > 0 ? failed.join(', ') : report?.error ?? (signal ? `killed by ${signal}` : `exit ${code}: ${err.trim().split('\n').at(-1) ?? ''}`);
      resolve({ ok: false, reason: why.slice(0, 280) });
    });
  });
}
