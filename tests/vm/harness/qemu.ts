// One qemu-system-x86_64 process: the guest's serial console (ttyS0) captured into a log file
// (and the test's stderr with LUCID_VM_VERBOSE=1), the test agent on the second serial port
// (ttyS1, a unix socket here), virtio disks, 9p shares and user-mode networking with host port
// forwards only (`restrict=on`: the guest reaches nothing else). A power cut is SIGKILL of qemu's
// own pid (never of a wrapper): what the guest kernel had not written to its virtual disk is
// lost, as on a real power cut; what qemu had passed to the host file stays.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GuestAgent } from './agent.js';
import { VM_CACHE } from './cache.js';

export type Accel = 'kvm' | 'tcg';

export interface Drive {
  readonly file: string;
  readonly format: 'raw' | 'qcow2';
  readonly readonly?: boolean;
}

export interface QemuOptions {
  readonly name: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly append: string;
  readonly drives?: readonly Drive[];
  /** Host port → guest port (TCP, host side bound to 127.0.0.1). */
  readonly forwards?: ReadonlyArray<{ readonly host: number; readonly guest: number }>;
  /**
   * Guest address:port → a host command per connection (its stdin/stdout are the connection):
   * slirp's `guestfwd=…-cmd:`, which `restrict=on` leaves working. The one way out of the guest.
   */
  readonly guestForwards?: ReadonlyArray<{ readonly addr: string; readonly port: number; readonly cmd: string }>;
  /** Host folders the guest mounts with `mount -t 9p -o trans=virtio,ro <tag> <dir>`. */
  readonly shares?: ReadonlyArray<{ readonly tag: string; readonly path: string }>;
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Directory for the agent socket and the console log. */
  readonly dir: string;
  readonly extraArgs?: readonly string[];
}

const LOG_DIR = join(VM_CACHE, 'logs');

/** Last lines of a console log, for error messages. */
export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * KVM only where a guest really comes up under it: these machines have /dev/kvm but nested
 * virtualization does not work (a guest hangs before its first kernel line). The probe boots the
 * kernel without a root file system under KVM and waits for "Linux version" on the console;
 * the answer is kept per host boot (boot_id). LUCID_VM_ACCEL=tcg|kvm skips the probe.
 */
export function detectAccel(kernel: string): Accel {
  const forced = process.env['LUCID_VM_ACCEL'];
  if (forced === 'tcg' || forced === 'kvm') return forced;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const memo = join(VM_CACHE, `accel-${bootId}`);
  if (existsSync(memo)) return readFileSync(memo, 'utf8').trim() === 'kvm' ? 'kvm' : 'tcg';
  const probe = spawnSync('qemu-system-x86_64', [
    '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-display', 'none', '-no-user-config', '-nodefaults', '-no-reboot',
    '-serial', 'stdio', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1',
  ], { timeout: 8000, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 16 << 20 });
  const accel: Accel = /Linux version/.test(probe.stdout ?? '') ? 'kvm' : 'tcg';
  mkdirSync(VM_CACHE, { recursive: true });
  writeFileSync(memo, accel);
  return accel;
}

// qemu outlives a test process that dies or forgets to stop it (it was seen running for an hour
// after a failed script): every live one is killed when this process exits.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export class QemuVm {
  readonly logFile: string;
  readonly agent: GuestAgent;
  readonly accel: Accel;
  readonly startedAt = performance.now();
  private readonly child: ChildProcess;
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private console = '';

  constructor(readonly options: QemuOptions) {
    this.accel = detectAccel(options.kernel);
    mkdirSync(LOG_DIR, { recursive: true });
    this.logFile = join(LOG_DIR, `${options.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
    const socket = join(options.dir, 'agent.sock');
    mkdirSync(dirname(socket), { recursive: true });
    const args = [
      ...(this.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
      '-m', String(options.memoryMiB ?? 1536), '-smp', String(options.cpus ?? 2),
      '-display', 'none', '-no-user-config', '-nodefaults', '-vga', 'none',
      '-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console',
      '-chardev', `socket,id=agent,path=${socket},server=on,wait=off`, '-serial', 'chardev:agent',
      '-kernel', options.kernel, '-initrd', options.initrd, '-append', options.append,
      '-device', 'virtio-rng-pci',
    ];
    for (const [i, d] of (options.drives ?? []).entries()) {
      // cache=none: writes reach the host file when the guest flushes (a power cut keeps them).
      args.push('-drive', `file=${d.file},format=${d.format},if=virtio,cache=none,aio=threads,id=disk${i}${d.readonly ? ',readonly=on' : ''}`);
    }
    const fwd = (options.forwards ?? []).map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('')
      + (options.guestForwards ?? []).map((f) => `,guestfwd=tcp:${f.addr}:${f.port}-cmd:${f.cmd.replace(/,/g, ',,')}`).join('');
    args.push('-netdev', `user,id=net0,restrict=on${fwd}`, '-device', 'virtio-net-pci,netdev=net0');
    for (const s of options.shares ?? []) {
      args.push('-fsdev', `local,id=fs-${s.tag},path=${s.path},security_model=none,readonly=on`, '-device', `virtio-9p-pci,fsdev=fs-${s.tag},mount_tag=${s.tag}`);
    }
    args.push(...(options.extraArgs ?? []));
    writeFileSync(this.logFile, `# qemu-system-x86_64 ${args.join(' ')}\n`);
    this.child = spawn('qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    this.child.once('exit', () => live.delete(this.child));
    const verbose = process.env['LUCID_VM_VERBOSE'] === '1';
    const onOutput = (d: Buffer): void => {
      const text = d.toString('utf8');
      this.console += text;
      if (this.console.length > 4_000_000) this.console = this.console.slice(-2_000_000);
      appendFileSync(this.logFile, text);
      if (verbose) process.stderr.write(text.replace(/^/gm, `[${options.name}] `));
    };
    this.child.stdout!.on('data', onOutput);
    this.child.stderr!.on('data', onOutput);
    this.exit = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.agent = new GuestAgent(socket, () => this.alive, () => this.consoleTail());
  }

  get pid(): number { return this.child.pid!; }
  get alive(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }
  consoleText(): string { return this.console; }
  consoleTail(lines = 40): string { return tail(this.console, lines); }
  seconds(): number { return Math.round((performance.now() - this.startedAt) / 100) / 10; }

  /** Waits until the console shows `pattern` (text printed after `from`, an offset into it). */
  async waitConsole(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.console.slice(from));
      if (m) return m;
      if (!this.alive) throw new Error(`${this.options.name}: qemu exited while waiting for ${pattern}\n${this.consoleTail()}`);
      if (Date.now() > until) throw new Error(`${this.options.name}: no ${pattern} on the console within ${timeoutMs} ms\n${this.consoleTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The power cut: SIGKILL to qemu itself; resolves once it is gone (disk images unlocked). */
  async powerCut(): Promise<void> {
    this.agent.close();
    if (this.alive) this.child.kill('SIGKILL');
    await this.exit;
    appendFileSync(this.logFile, '\n# --- power cut (qemu SIGKILLed) ---\n');
  }

  /** Waits for the guest to power itself off (qemu exits), else cuts the power. */
  async exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => { if (this.alive) this.child.kill('SIGKILL'); }, timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
      this.agent.close();
    }
  }
}
