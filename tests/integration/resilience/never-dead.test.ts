// Never a dead box, on the real process tree: a critical child that failed is retried slowly
// and comes back by itself once its cause is gone; the supervisor stops petting systemd's
// watchdog when its own event loop is stuck and when a critical child has been failing too long.
// sd_notify datagrams arrive on a real unix socket (as in systemd-and-watchdog.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, ROOT, startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { listenDatagrams, type DatagramListener } from '../../fixtures/hal/datagram-listener.js';

let app: RunningAppliance | undefined;
let listener: DatagramListener | undefined;
afterEach(async () => {
  if (app) {
    try { process.kill(app.pid, 'SIGCONT'); } catch { /* gone */ }
    await app.cleanup();
  }
  await listener?.close();
  app = undefined;
  listener = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Binds a notify socket; `take(ms)` returns every datagram that arrived within the next `ms`. */
async function notifySocket(): Promise<{ env: Record<string, string>; take(ms: number): Promise<string[]> }> {
  const path = join(mkdtempSync(join(tmpdir(), 'lucid-notify-')), 'notify.sock');
  listener = await listenDatagrams(path);
  const l = listener;
  return {
    env: { NOTIFY_SOCKET: path },
    async take(ms) {
      const out: string[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until) {
        try { out.push(...(await l.next(1, Math.max(1, until - Date.now())))); } catch { /* none in time */ }
      }
      return out;
    },
  };
}

/** The status-LED states the supervisor logged, in order. */
const ledLog = (out: string): string[] => out.split('\n').filter((l) => l.includes('"msg":"status led"')).map((l) => JSON.parse(l).led as string);

describe('a failed critical child', () => {
  it('is retried slowly while its cause lasts (fault LED throughout) and recovers by itself once the cause is gone', async () => {
    app = await startAppliance({ env: { LUCID_FAILED_RETRY_MS: '1000', LUCID_FAILED_RETRY_MAX_MS: '2000' } });
    await app.waitHealthy(30_000);
    const status = await app.json('/api/v1/status');
    const corePid = status.children.find((c: { name: string }) => c.name === 'core').pid as number;
    // Break core's data: its node key becomes unreadable, so every start of core fails.
    const keyFile = join(app.dataDir, 'keys/node-ed25519.pem');
    const key = readFileSync(keyFile);
    writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n');
    process.kill(corePid, 'SIGKILL');
    // 5 exits (≈ 1+2+4+8 s of fast backoff) mark it failed; then slow retries fail again.
    await app.waitFor('core failed, then a slow retry that failed again', async () => /failed again after a retry.*"msg":"child failed"/.test(app!.output()), 60_000);
    const failedAt = app.output().search(/"msg":"child failed"/);
    expect(app.output().slice(failedAt)).toMatch(/"msg":"retrying a failed child"/);
    expect((await fetch(`${app.url}/healthz`).catch(() => null))?.status ?? 0).not.toBe(200);
    // Repair it: nobody touches the supervisor.
    writeFileSync(keyFile, key);
    const repairedAt = Date.now();
    await app.waitHealthy(15_000);
    expect(Date.now() - repairedAt).toBeLessThan(2000 * 1.15 + 10_000); // one retry delay + a start of core
    expect(isRunning(app.pid)).toBe(true);
    const after = await app.json('/api/v1/status');
    const core = after.children.find((c: { name: string }) => c.name === 'core');
    expect(core).toMatchObject({ state: 'ready', failedSince: null, failedReason: null });
    expect(core.restarts).toBeGreaterThanOrEqual(6);
    expect(after.led.state).toBe('ready');
    expect(app.output()).toMatch(/"msg":"failed child recovered"/);
    // The LED went to fault when core failed and stayed there, through every retry, until ready.
    const leds = ledLog(app.output());
    const fault = leds.indexOf('fault');
    expect(fault).toBeGreaterThan(0);
    expect(leds.slice(fault)).toEqual(['fault', 'ready']);
  }, 120_000);
});

describe('the systemd watchdog', () => {
  it('is not petted while the supervisor\'s event loop is stuck, and is again once it runs', async () => {
    const notify = await notifySocket();
    app = await startAppliance({ env: { ...notify.env, WATCHDOG_USEC: '1000000', LUCID_LOOP_LAG_LIMIT_MS: '1000' } });
    await app.waitHealthy(30_000);
    await notify.take(300);
    expect((await notify.take(2000)).filter((m) => m === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(2);
    // Stuck: 1.6 s stopped, 40 ms running, four times. Each time it runs, the overdue ping timer
    // fires (a plain interval would ping then), but every interval held a turn 1.6 s late.
    const during: string[] = [];
    const collecting = notify.take(4 * 1640 + 200).then((m) => during.push(...m));
    for (let i = 0; i < 4; i++) {
      process.kill(app.pid, 'SIGSTOP');
      await sleep(1600);
      process.kill(app.pid, 'SIGCONT');
      await sleep(40);
    }
    await collecting;
    expect(during.filter((m) => m === 'WATCHDOG=1'), JSON.stringify(during)).toEqual([]);
    expect(during.some((m) => m.startsWith('STATUS=watchdog withheld: event loop stuck'))).toBe(true);
    expect((await notify.take(2500)).filter((m) => m === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(2);
    expect(app.output()).toMatch(/"msg":"systemd watchdog: petting again"/);
  }, 60_000);

  it('is not petted once a critical child has been failing longer than LUCID_FAILED_LIMIT_MS', async () => {
    const notify = await notifySocket();
    const crasher = { name: 'crasher', entry: join(ROOT, 'tests/fixtures/children/crash.mjs'), critical: true, after: ['core'] };
    app = await startAppliance({ env: { ...notify.env, WATCHDOG_USEC: '1000000', LUCID_FAILED_LIMIT_MS: '3000', LUCID_EXTRA_CHILDREN: JSON.stringify([crasher]) } });
    const messages: string[] = [];
    await app.waitFor('crasher failed', async () => {
      messages.push(...(await notify.take(200)));
      return /"child":"crasher".*"msg":"child failed"/.test(app!.output());
    }, 60_000);
    // Still petted while the failure is young.
    expect(messages.filter((m) => m === 'WATCHDOG=1').length).toBeGreaterThan(0);
    const young = await notify.take(1500);
    expect(young).toContain('WATCHDOG=1');
    // From the limit on: withheld, with the reason in STATUS= (what `systemctl status` shows).
    const late: string[] = [];
    await app.waitFor('the watchdog withheld', async () => {
      late.push(...(await notify.take(200)));
      return late.some((m) => m.startsWith('STATUS=watchdog withheld: crasher has been failing'));
    }, 10_000);
    const quiet = await notify.take(3000);
    expect(quiet.filter((m) => m === 'WATCHDOG=1'), JSON.stringify(quiet)).toEqual([]);
    expect(app.output()).toMatch(/"msg":"systemd watchdog: no longer petting; systemd will restart the appliance"/);
    expect(isRunning(app.pid)).toBe(true); // systemd does the restart, not the supervisor
  }, 90_000);
});
