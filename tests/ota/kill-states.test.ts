// kill -9 at every OTA state (issue 21 §5), on the process-level harness: the agent alone, the
// supervisor alone, and every process of the unit at once (what a power cut does to processes;
// the VM bed cuts real power). Each run installs the next version and kills the moment the agent
// has persisted the state under test (inotify on its state file). Whatever is killed, the device
// ends healthy on a committed slot running the old version or the new one — never neither — and
// the slot the host calls active holds exactly the version that runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, watch, readFileSync, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { createReleaseEnv, type ReleaseEnv, type TestRelease } from '../helpers/ota-releases.js';
import { OtaDevice } from '../helpers/ota-device.js';
import { ROOT } from '../helpers/appliance.js';

const PHASES = ['fetching', 'staging', 'staged', 'switching', 'trial'] as const;
type Phase = (typeof PHASES)[number];
type Kill = 'agent' | 'supervisor' | 'all';

let env: ReleaseEnv;
let major = 1;
beforeAll(async () => { env = await createReleaseEnv(); }, 20 * 60_000);
afterAll(async () => { await env?.stop(); });

/** Kills `what` the moment the agent's state file says `phase`; resolves with what it saw. */
function killAt(device: OtaDevice, phase: Phase, what: Kill): { done: Promise<string>; stop(): void } {
  let watcher: FSWatcher | null = null;
  let resolve!: (v: string) => void;
  const done = new Promise<string>((r) => { resolve = r; });
  const check = (): void => {
    let seen: string;
    try {
      seen = (JSON.parse(readFileSync(join(device.dataDir, 'ota/state.json'), 'utf8')) as { phase: string }).phase;
    } catch {
      return;
    }
    if (seen !== phase) return;
    if (what === 'agent') device.killChild('ota-agent');
    else if (what === 'supervisor') device.signalSupervisor('SIGKILL');
    else device.killAll();
    watcher?.close();
    watcher = null;
    resolve(seen);
  };
  watcher = watch(join(device.dataDir, 'ota'), () => check());
  return { done, stop: () => watcher?.close() };
}

async function runOne(device: OtaDevice, from: TestRelease, phase: Phase, what: Kill): Promise<void> {
  const to = await env.build(`${++major}.0.0`);
  await env.publish(to);
  // `staged` lasts one IPC round trip when nothing holds an update lock; a child holding one (a
  // finalize in progress) keeps the agent there until it lets go — the hand-over waits.
  const hold = join(device.dataDir, 'hold-update-lock');
  if (phase === 'staged') writeFileSync(hold, '');
  const armed = killAt(device, phase, what);
  try {
    const checked = await device.api('POST', '/api/v1/ota/check');
    expect(checked?.body?.available?.version, JSON.stringify(checked?.body)).toBe(to.version);
    const install = await device.api('POST', '/api/v1/ota/install');
    // A kill in `fetching` can land before the agent answered (its state is already persisted):
    // the request then fails, the install goes on.
    let killed = false;
    void armed.done.then(() => { killed = true; });
    await new Promise((r) => setImmediate(r));
    if (!killed) expect(install?.status, JSON.stringify(install?.body)).toBe(202);
    const seen = await Promise.race([armed.done, new Promise<string>((r) => setTimeout(() => r('missed'), 120_000))]);
    expect(seen, `the ${phase} state was never seen`).toBe(phase);
  } finally {
    armed.stop();
    rmSync(hold, { force: true });
  }
  // Never neither: healthy, no trial pending, the active slot holding what runs.
  const s = await device.waitFor(`a committed version after kill -9 of the ${what} in ${phase}`, async () => {
    const host = await device.hostState();
    if (!host || host.trial !== null || !(await device.healthy())) return null;
    const st = await device.ota();
    if (!st || st.phase !== 'idle' || (st.version !== from.version && st.version !== to.version)) return null;
    const slot = await device.slots.read(host.committed);
    return slot.version === st.version && slot.state === 'staged' && st.slot === host.committed ? st : null;
  }, 150_000, 300);
  process.stderr.write(`[ota] kill -9 ${what} in ${phase}: ended on ${s.version} (${s.version === to.version ? 'new' : 'old'})\n`);
  // The agent resumes from its persisted state (or the host finishes the trial): it gets there.
  expect(s.version).toBe(to.version);
  expect(s.history[0]).toMatchObject({ version: to.version, outcome: 'committed' });
}

describe.each(['agent', 'supervisor', 'all'] as const)('kill -9 of the %s', (what) => {
  let device: OtaDevice;
  let current: TestRelease;
  beforeAll(async () => {
    current = await env.build(`${++major}.0.0`);
    device = await OtaDevice.create(current, {
      env: {
        LUCID_OTA_URL: env.url, LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: '2',
        LUCID_EXTRA_CHILDREN: JSON.stringify([{ name: 'finalizer', entry: join(ROOT, 'tests/fixtures/children/ota-lock-holder.mjs') }]),
      },
    });
    device.start();
    await device.waitCommitted(current.version);
  }, 5 * 60_000);
  afterAll(async () => { await device?.destroy(); });

  it.each(PHASES)(`in %s: ends on a committed, healthy slot`, async (phase) => {
    const before = await device.waitFor('the device idle and committed', async () => {
      const host = await device.hostState();
      const st = host?.trial === null && (await device.healthy()) ? await device.ota() : null;
      return st?.phase === 'idle' ? st : null;
    }, 120_000, 300);
    await runOne(device, { version: before.version } as TestRelease, phase, what);
  }, 300_000);
});

// An uploaded bundle: core stores it, the agent records the install of that file (fsynced) and
// answers. A kill between the two (here exactly there: the agent's test crash point) leaves core
// without an answer while the install is under way from the file — core must not delete it (it
// did: the agent then retried a missing file for an hour, and the admin's install was lost).
describe('kill -9 of the agent after it recorded an uploaded bundle\'s install, before it answered core', () => {
  let device: OtaDevice;
  beforeAll(async () => {
    const current = await env.build(`${++major}.0.0`);
    device = await OtaDevice.create(current, {
      env: { LUCID_OTA_AUTO_INSTALL: 'off', LUCID_OTA_SOAK_S: '2', NODE_ENV: 'test', LUCID_OTA_TEST_CRASH: 'bundle-install-recorded' },
    });
    device.start();
    await device.waitCommitted(current.version);
  }, 5 * 60_000);
  afterAll(async () => { await device?.destroy(); });

  it('answers 503 OTA_ERR_AGENT_UNAVAILABLE, keeps the bundle, and the install ends committed on the new version', async () => {
    const from = (await device.ota())!.version;
    const to = await env.build(`${++major}.0.0`);
    await env.publish(to);
    const file = await env.bundle(to, join(env.dir, `${to.version}.lucid-bundle`), { architectures: ['amd64'] });
    const res = await fetch(`${device.url}/api/v1/ota/bundle?install=true`, {
      method: 'PUT', body: readFileSync(file), headers: { authorization: `Bearer ${await device.token()}`, 'content-type': 'application/octet-stream' },
    });
    const body = await res.json() as { code?: string; message?: string };
    expect(res.status, JSON.stringify(body)).toBe(503);
    expect(body.code).toBe('OTA_ERR_AGENT_UNAVAILABLE');
    expect(device.output()).toMatch(/"point":"bundle-install-recorded","msg":"test crash point: SIGKILL"/);
    const s = await device.waitFor(`${to.version} committed after the agent died before answering`, async () => {
      const host = await device.hostState();
      const st = host?.trial === null && (await device.healthy()) ? await device.ota() : null;
      return st?.phase === 'idle' && st.version === to.version ? st : null;
    }, 150_000, 300);
    expect(s.history[0]).toMatchObject({ version: to.version, outcome: 'committed', source: 'bundle' });
    expect(s.previous?.version).toBe(from);
    expect(body.message).toMatch(/the bundle is kept/);
  }, 300_000);
});
