// The full guest: Debian 12 with systemd and udev booted from a copy-on-write overlay of the
// cached disk (so every test file starts from the same clean system and the cache is never
// written), the appliance's ports forwarded to the host (8080 plain, 8443 HTTPS with the
// appliance's certificate pinned: `https`, guest-https.ts), an optional read-only 9p share for the
// files a test brings in (the .deb), the test agent for commands. Reboots are real: the guest
// runs `systemctl reboot` and qemu restarts it on the same overlay; a power cut kills qemu and
// boot() starts it again on the same overlay.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as runTool } from '../../../image/build/exec.js';
import { freePort } from '../../helpers/appliance.js';
import type { ExecResult } from './agent.js';
import { basePath, guestBase } from './guest-build.js';
import { PinnedHttps } from './guest-https.js';
import { waitHealthy } from './lean-guest.js';
import { QemuVm } from './qemu.js';

export interface FullGuestOptions {
  readonly name?: string;
  /** A host folder the guest sees read-only at /mnt/host. */
  readonly share?: string;
  /** Guest TCP ports to forward (each gets a free host port); default [8080, 8443]. */
  readonly ports?: readonly number[];
  readonly memoryMiB?: number;
  /** Extra qemu arguments (devices). */
  readonly extraArgs?: readonly string[];
  /** The appliance's data folder in the guest (its certificate is `keys/tls-cert.pem` there). */
  readonly dataDir?: string;
}

export interface BootTimes {
  /** Seconds from qemu's start to the agent's first line (systemd reached sysinit + the agent). */
  readonly agent: number;
  /** Seconds from qemu's start to the guest's IPv4 address (systemd-networkd's DHCP lease). */
  readonly network: number;
}

export class FullGuest {
  vm!: QemuVm;
  bootId = '';
  /** The guest's IPv4 address on qemu's user network, known once boot() or reboot() returned. */
  address = '';
  readonly forwards: ReadonlyArray<{ host: number; guest: number }>;
  /** HTTPS through the 8443 forward, the certificate read from the guest and pinned. */
  readonly https: PinnedHttps | undefined;
  private constructor(
    readonly options: FullGuestOptions,
    private readonly dir: string,
    private readonly overlay: string,
    private readonly kernel: string,
    private readonly initrd: string,
    forwards: ReadonlyArray<{ host: number; guest: number }>,
  ) {
    this.forwards = forwards;
    const dataDir = options.dataDir ?? '/var/lib/lucid/data';
    this.https = forwards.some((f) => f.guest === 8443)
      ? new PinnedHttps(this.httpsUrl(), () => this.run(`cat ${dataDir}/keys/tls-cert.pem`))
      : undefined;
  }

  static async create(options: FullGuestOptions = {}): Promise<FullGuest> {
    const base = await guestBase();
    const dir = mkdtempSync(join(tmpdir(), 'lucid-full-'));
    const overlay = join(dir, 'overlay.qcow2');
    await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', basePath(base, base.info.disk), overlay]);
    const forwards = [];
    for (const guest of options.ports ?? [8080, 8443]) forwards.push({ host: await freePort(), guest });
    return new FullGuest(options, dir, overlay, basePath(base, base.info.kernel), basePath(base, base.info.initrd), forwards);
  }

  /** Starts qemu on the overlay and waits for the agent. */
  async boot(timeoutMs = 240_000): Promise<BootTimes> {
    this.vm = new QemuVm({
      name: this.options.name ?? 'full', dir: this.dir, memoryMiB: this.options.memoryMiB ?? 1536,
      kernel: this.kernel, initrd: this.initrd, append: 'root=/dev/vda rw console=ttyS0 quiet',
      drives: [{ file: this.overlay, format: 'qcow2' }], forwards: this.forwards,
      ...(this.options.share ? { shares: [{ tag: 'host', path: this.options.share }] } : {}),
      // A USB controller, as every PC and Pi has: usbcore is loaded at boot (see the unit's DeviceAllow=).
      extraArgs: ['-device', 'qemu-xhci', ...(this.options.extraArgs ?? [])],
    });
    this.bootId = await this.vm.agent.ready(timeoutMs);
    const agent = this.vm.seconds();
    await this.afterBoot();
    return { agent, network: this.vm.seconds() };
  }

  /**
   * The agent starts at sysinit, before systemd-networkd has its DHCP lease: wait for the
   * address (the forwarded ports reach nothing without it; a test reading it too early read '').
   */
  private async afterBoot(): Promise<void> {
    const out = await this.run(`
      for i in $(seq 1 600); do
        a=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n 1)
        if [ -n "$a" ]; then echo "$a"; exit 0; fi
        sleep 0.2
      done
      echo "no IPv4 address after 120 s: $(networkctl 2>&1 | tr -s '[:space:]' ' ')" >&2; exit 1`, 150_000);
    this.address = out.trim();
    if (this.options.share) await this.run('mountpoint -q /mnt/host || mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro host /mnt/host');
  }

  /** http://127.0.0.1:<host port> forwarded to `guestPort`. */
  url(guestPort = 8080): string {
    const f = this.forwards.find((x) => x.guest === guestPort);
    if (!f) throw new Error(`guest port ${guestPort} is not forwarded`);
    return `http://127.0.0.1:${f.host}`;
  }

  /** https://127.0.0.1:<host port> forwarded to `guestPort` (the appliance's LUCID_HTTPS_PORT). */
  httpsUrl(guestPort = 8443): string {
    return this.url(guestPort).replace(/^http:/, 'https:');
  }

  exec(script: string, timeoutMs?: number): Promise<ExecResult> { return this.vm.agent.exec(script, timeoutMs); }
  run(script: string, timeoutMs?: number): Promise<string> { return this.vm.agent.run(script, timeoutMs); }

  waitHealthy(timeoutMs = 180_000, guestPort = 8080): Promise<number> {
    return waitHealthy(this.vm, this.url(guestPort), timeoutMs);
  }

  /** `systemctl reboot` in the guest; resolves when the agent is back in the new boot. */
  async reboot(timeoutMs = 240_000): Promise<number> {
    const started = performance.now();
    const before = this.bootId;
    await this.exec('systemctl reboot --no-block', 30_000).catch(() => undefined);
    this.bootId = await this.vm.agent.ready(timeoutMs, before);
    await this.afterBoot();
    return Math.round((performance.now() - started) / 100) / 10;
  }

  /** SIGKILL qemu (the power cut). boot() starts the same disk again. */
  powerCut(): Promise<void> { return this.vm.powerCut(); }

  /** Powers the guest off (or cuts it after the timeout) and removes the overlay. */
  async dispose(): Promise<void> {
    if (this.vm?.alive) {
      await this.exec('systemctl poweroff --no-block', 10_000).catch(() => undefined);
      await this.vm.exited(30_000);
    }
    await this.https?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Builds (or reuses) the guest disk, boots it, waits for its agent. */
export async function bootFullGuest(options: FullGuestOptions = {}): Promise<FullGuest> {
  const guest = await FullGuest.create(options);
  await guest.boot();
  return guest;
}
