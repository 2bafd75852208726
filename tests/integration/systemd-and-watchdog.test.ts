// The supervisor under systemd-like conditions: sd_notify datagrams on NOTIFY_SOCKET (received
// by a real unix datagram socket) and a hardware watchdog device (a plain file here).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { listenDatagrams, type DatagramListener } from '../fixtures/hal/datagram-listener.js';

let app: RunningAppliance | undefined;
let listener: DatagramListener | undefined;
afterEach(async () => {
  await app?.cleanup();
  await listener?.close();
  app = undefined;
  listener = undefined;
});

describe('systemd integration', () => {
  it('sends READY=1 once healthy, WATCHDOG=1 at half WATCHDOG_USEC, STOPPING=1 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-notify-'));
    const socket = join(dir, 'notify.sock');
    listener = await listenDatagrams(socket);
    app = await startAppliance({ env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '600000' } });
    await app.waitHealthy();
    const messages: string[] = [];
    const until = Date.now() + 5000;
    // Pings sent while the tree was still starting are queued before READY (a slow start under
    // load sends several): wait for READY, then count three pings after it.
    const pingsAfterReady = (): number => messages.slice(messages.indexOf('READY=1\nSTATUS=ready') + 1).filter((m) => m === 'WATCHDOG=1').length;
    while (Date.now() < until && (!messages.includes('READY=1\nSTATUS=ready') || pingsAfterReady() < 3)) {
      messages.push(...(await listener.next(1, 3000)));
    }
    expect(messages, JSON.stringify(messages)).toContain('READY=1\nSTATUS=ready');
    expect(messages.filter((m) => m === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(3);
    // Children never get the socket: only the supervisor talks to systemd.
    const status = await app.json('/api/v1/status');
    expect(status.healthy).toBe(true);
    const corePid = status.children.find((c: { name: string }) => c.name === 'core').pid;
    const coreEnv = readFileSync(`/proc/${corePid}/environ`, 'utf8').split('\0');
    expect(coreEnv.some((v) => v.startsWith('NOTIFY_SOCKET='))).toBe(false);
    expect(coreEnv).toContain('LUCID_CHILD_NAME=core');
    process.kill(app.pid, 'SIGTERM');
    await app.exited();
    const rest: string[] = [];
    for (;;) {
      try { rest.push(...(await listener.next(1, 500))); } catch { break; }
    }
    expect(rest).toContain('STOPPING=1');
  });
});

describe('hardware watchdog', () => {
  it('is kicked every second while running and disarmed by the magic close on a clean stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-wdt-'));
    const device = join(dir, 'watchdog');
    writeFileSync(device, '');
    app = await startAppliance({ env: { LUCID_WATCHDOG_DEVICE: device } });
    await app.waitHealthy();
    const status = await app.json('/api/v1/status');
    expect(status.hal.watchdog).toBe(`dev:${device}`);
    const first = statSync(device).size;
    await new Promise((r) => setTimeout(r, 2200));
    const kicks = statSync(device).size - first;
    expect(kicks).toBeGreaterThanOrEqual(2);
    expect(kicks).toBeLessThanOrEqual(4);
    process.kill(app.pid, 'SIGTERM');
    await app.exited();
    const written = readFileSync(device, 'utf8');
    expect(written.endsWith('V')).toBe(true);
    expect(written.slice(0, -1)).toMatch(/^1+$/);
  });
});
