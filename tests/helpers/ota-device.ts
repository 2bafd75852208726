// The process-level OTA harness: one appliance "device" on this machine, run the way systemd
// runs lucid-appliance.service — the host step (ota/host/lucid-ota-boot.sh start) before every
// start, the image's own node and supervisor from the slot `active` points at, a restart after
// every exit (Restart=always, RestartSec), and the host step's `watch` on a timer — with the
// slot layout, data volume and boot state in a temp folder. Kill -9 of any process, or of the
// whole tree (a power cut's effect on processes), is a method. Many devices can run at once
// (the fleet issue's tests): each has its own folder and port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminToken, freePort, isRunning, ROOT, treePids } from './appliance.js';
import { BlobStore } from '../../ota/client/fetch/blob-store.js';
import { SlotStore } from '../../ota/client/slots/slot-store.js';
import { stageSlot } from '../../ota/client/slots/stage.js';
import { HostFiles, type HostState } from '../../ota/client/slots/host-state.js';
import { describeImage } from '../../ota/release/release-build.js';
import { OciLayout, type ImageConfig } from '../../ota/shared/oci/index.js';
import type { OtaStatus } from '../../ota/shared/status.js';
import type { TestRelease } from './ota-releases.js';

export const HOST_STEP = join(ROOT, 'ota/host/lucid-ota-boot.sh');

export interface DeviceOptions {
  /** LUCID_* settings of the unit (e.g. LUCID_OTA_URL, LUCID_OTA_SOAK_S). */
  readonly env?: Readonly<Record<string, string>>;
  /** RestartSec. Default 300 ms (the unit says 2 s). */
  readonly restartDelayMs?: number;
  /** How often the `watch` timer runs (null: never). Default 1000 ms. */
  readonly watchIntervalMs?: number | null;
  readonly maxBoots?: number;
  readonly trialTimeoutS?: number;
  /** Prints every process's output here (debugging). */
  readonly echo?: boolean;
  /** Keep the installed image's blobs in the agent's store (default true, as the installer does). */
  readonly seedBlobs?: boolean;
}

export interface Boot { readonly at: number; readonly slot: string; readonly exit: { code: number | null; signal: string | null } | null }

export class OtaDevice {
  readonly host: HostFiles;
  readonly slots: SlotStore;
  readonly boots: Boot[] = [];
  private unit: ChildProcess | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private out = '';
  private tokenValue: string | null = null;

  private constructor(readonly root: string, readonly port: number, readonly httpsPort: number, private readonly options: DeviceOptions) {
    this.host = new HostFiles(root, this.dataDir);
    this.slots = new SlotStore(root);
  }

  get dataDir(): string { return join(this.root, 'data'); }
  get url(): string { return `http://127.0.0.1:${this.port}`; }
  get supervisorPid(): number | null { return this.unit?.pid && this.unit.exitCode === null && this.unit.signalCode === null ? this.unit.pid : null; }
  output(): string { return this.out; }

  /** A device with `initial` installed in slot a (as the .deb's installer would), not started. */
  static async create(initial: TestRelease, options: DeviceOptions = {}): Promise<OtaDevice> {
    const root = await mkdtemp(join(tmpdir(), 'lucid-device-'));
    // Both ports free ones: a fixed default (8443) made parallel devices crash-loop on EADDRINUSE.
    const device = new OtaDevice(root, await freePort(), await freePort(), options);
    await mkdir(device.dataDir, { recursive: true });
    device.hostStep('init', 'a');
    await device.install(initial, 'a');
    return device;
  }

  /** Puts `release` into `slot` from its layout through the agent's own staging code. */
  async install(release: TestRelease, slot: 'a' | 'b'): Promise<void> {
    const image = await describeImage(release.layoutDir);
    const platform = image.platforms.find((p) => p.architecture === 'amd64')!;
    const layout = new OciLayout(release.layoutDir);
    const store = new BlobStore(join(this.dataDir, 'ota', 'blobs'));
    await store.init();
    for (const d of [image.index.digest, platform.manifest.digest, platform.config.digest, ...platform.layers.map((l) => l.digest)]) {
      await copyFile(layout.blobPath(d), store.path(d));
    }
    const config = await layout.readJson<ImageConfig>(platform.config.digest);
    await stageSlot(this.slots, slot, store, { id: `install-${release.version}`, version: release.version, index: image.index.digest, platform, config });
    if (this.options.seedBlobs === false) await rm(store.dir, { recursive: true, force: true });
  }

  private hostEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env['PATH']!, LUCID_OTA_ROOT: this.root, LUCID_OTA_RESTART_CMD: '', LUCID_OTA_AGENT_OWNER: '65532:65532',
      LUCID_OTA_MAX_BOOTS: String(this.options.maxBoots ?? 3), LUCID_OTA_TRIAL_TIMEOUT_S: String(this.options.trialTimeoutS ?? 600),
    };
  }

  /** The host step, waited for (its output on stdout). Only where nothing else runs yet: it blocks this process. */
  hostStep(...args: string[]): string {
    const res = spawnSync('sh', [HOST_STEP, ...args], { encoding: 'utf8', env: this.hostEnv() });
    this.out += res.stderr;
    if (res.status !== 0) throw new Error(`host step ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
    return res.stdout;
  }

  /**
   * The host step as systemd runs it, beside everything else (the script takes its own lock).
   * Not spawnSync: five devices' watch timers once a second blocked the test's event loop for
   * minutes whenever the disk was slow (the step syncs), while a file beside it did heavy I/O.
   */
  hostStepAsync(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('sh', [HOST_STEP, ...args], { env: this.hostEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.once('error', reject);
      child.once('close', (code) => {
        this.out += stderr;
        if (code === 0) resolve(stdout);
        else reject(new Error(`host step ${args.join(' ')} failed (${code}): ${stderr}`));
      });
    });
  }

  /** Starts the "unit": host step, supervisor, restart on every exit, the watch timer. */
  start(): void {
    this.stopped = false;
    this.loop = this.run();
    const every = this.options.watchIntervalMs === undefined ? 1000 : this.options.watchIntervalMs;
    if (every !== null) {
      let watching = false; // a timer's service: one run at a time
      this.watchTimer = setInterval(() => {
        if (watching) return;
        watching = true;
        this.hostStepAsync('watch')
          .then((out) => { if (out.includes('restart') && !this.stopped) this.signalSupervisor('SIGTERM'); })
          .catch((err: unknown) => { this.out += `watch failed: ${String(err)}\n`; })
          .finally(() => { watching = false; });
      }, every);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let slot = '?';
      try {
        await this.hostStepAsync('start');
        slot = await readlink(join(this.root, 'active'));
      } catch (err) {
        this.out += `ExecStartPre failed: ${String(err)}\n`;
        this.boots.push({ at: Date.now(), slot, exit: { code: 1, signal: null } });
        await new Promise((r) => setTimeout(r, this.options.restartDelayMs ?? 300));
        continue;
      }
      const rootfs = join(this.root, 'active', 'rootfs');
      const child = spawn(join(rootfs, 'usr/local/bin/node'), [join(rootfs, 'app/dist/entries/supervisor.mjs')], {
        cwd: join(rootfs, 'app'),
        env: {
          PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production', LUCID_PROFILE: 'dev', LUCID_DATA_DIR: this.dataDir, LUCID_HAL: 'sim',
          LUCID_HOST: '127.0.0.1', LUCID_PORT: String(this.port), LUCID_HTTPS_PORT: String(this.httpsPort), LUCID_MDNS: 'off', LUCID_OTA_HOST_DIR: this.root, LUCID_LOG_LEVEL: 'info',
          LUCID_OTA_SOAK_S: '2', LUCID_OTA_HEALTH_TIMEOUT_S: '60', LUCID_STOP_TIMEOUT_MS: '5000',
          ...(process.env['TMPDIR'] ? { TMPDIR: process.env['TMPDIR'] } : {}), ...this.options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: the unit's "cgroup", killed whole when the supervisor is gone.
        detached: true,
      });
      this.unit = child;
      const boot: { at: number; slot: string; exit: Boot['exit'] } = { at: Date.now(), slot, exit: null };
      this.boots.push(boot);
      const take = (d: Buffer): void => {
        const text = d.toString();
        if (this.out.length < 20_000_000) this.out += text;
        if (this.options.echo) process.stderr.write(text);
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
      const exit = await new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      boot.exit = exit;
      // KillMode=mixed: what is left of the unit's processes is killed when the main one is gone
      // (systemd kills the cgroup; children of a dead supervisor are no longer its descendants).
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* nothing left */ }
      if (this.stopped) break;
      await new Promise((r) => setTimeout(r, this.options.restartDelayMs ?? 300));
    }
  }

  signalSupervisor(signal: NodeJS.Signals): void {
    const pid = this.supervisorPid;
    if (pid) try { process.kill(pid, signal); } catch { /* gone */ }
  }

  /** The pid of one named child of the supervisor (ota-agent, core), or null. */
  childPid(name: 'ota-agent' | 'core'): number | null {
    const pid = this.supervisorPid;
    if (!pid) return null;
    for (const p of treePids(pid).slice(1)) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`/entries/${name}.mjs`)) return p;
      } catch { /* gone */ }
    }
    return null;
  }

  /** SIGKILL of one named child of the supervisor (ota-agent, core). Returns its pid. */
  killChild(name: 'ota-agent' | 'core'): number | null {
    const p = this.childPid(name);
    if (p !== null) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
    return p;
  }

  /** Every process of the unit at once (what a power cut does to them; the disk keeps its page cache). */
  killAll(): void {
    const pid = this.supervisorPid;
    if (!pid) return;
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.signalSupervisor('SIGTERM');
    const pid = this.supervisorPid;
    const until = Date.now() + 8000;
    while (pid && isRunning(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    this.killAll();
    await this.loop?.catch(() => {});
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.root, { recursive: true, force: true });
  }

  async hostState(): Promise<HostState | null> { return this.host.state(); }

  async agentState(): Promise<{ phase: string; job: { id: string } | null } | null> {
    return readFile(join(this.dataDir, 'ota', 'state.json'), 'utf8').then((t) => JSON.parse(t) as { phase: string; job: { id: string } | null }, () => null);
  }

  async token(): Promise<string> {
    this.tokenValue ??= await adminToken(this.url, this.dataDir);
    return this.tokenValue;
  }

  /** An admin API call; null while the appliance does not answer (restarting). */
  async api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any } | null> {
    try {
      const res = await fetch(`${this.url}${path}`, {
        method, headers: { authorization: `Bearer ${await this.token()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 401) this.tokenValue = null;
      return { status: res.status, body: await res.json().catch(() => null) };
    } catch {
      this.tokenValue = null;
      return null;
    }
  }

  async ota(): Promise<OtaStatus | null> {
    const r = await this.api('GET', '/api/v1/ota');
    return r?.status === 200 ? (r.body as OtaStatus) : null;
  }

  async healthy(): Promise<boolean> {
    return fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
  }

  async waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => null);
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- device output (tail) ---\n${this.out.slice(-6000)}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Healthy, on `version`, committed (no trial pending), from the slot the host says is active. */
  async waitCommitted(version: string, timeoutMs = 90_000): Promise<OtaStatus> {
    return this.waitFor(`${version} committed and healthy`, async () => {
      const host = await this.hostState();
      if (!host || host.trial !== null || !(await this.healthy())) return null;
      const s = await this.ota();
      return s && s.version === version && s.slot === host.committed && s.phase === 'idle' ? s : null;
    }, timeoutMs, 200);
  }
}
