// The host end of the guest's test agent on ttyS1 (a unix socket served by qemu). Protocol, one
// line per message: the host sends "<id> <base64 of a shell script>"; the guest answers
// "@@out <id> <base64 stdout>@@", "@@err <id> <base64 stderr>@@", "@@rc <id> <code>@@", and
// prints "@@agent-ready <boot id>@@" whenever the agent starts (each boot). The guest runs one
// script at a time, as root; a script that must outlive its call starts it detached
// (`setsid -f … >log 2>&1`). Both guests (full Debian, lean busybox) run the same loop.
import { loadavg } from 'node:os';
import { connect, type Socket } from 'node:net';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class GuestAgent {
  private socket: Socket | null = null;
  private buffer = '';
  private seq = 0;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly alive: () => boolean,
    private readonly consoleTail: () => string,
  ) {}

  private async ensureConnected(): Promise<void> {
    if (this.socket) return;
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        this.socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(this.path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch (err) {
        if (Date.now() > until || !this.alive()) throw new Error(`agent socket ${this.path}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      for (const w of this.waiters) w();
    });
    this.socket.on('error', () => {});
  }

  /** Resolves when more bytes arrive or after `ms`. */
  private nextData(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => { this.waiters.delete(done); clearTimeout(timer); resolve(); };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private async waitFor(pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    await this.ensureConnected();
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.buffer);
      if (m) return m;
      if (this.closed || !this.alive()) throw new Error(`guest is gone while waiting for ${what}\n${this.consoleTail()}`);
      if (Date.now() > until) throw new Error(`no ${what} from the guest agent within ${timeoutMs} ms\n${this.consoleTail()}`);
      await this.nextData(Math.min(250, until - Date.now()));
    }
  }

  /**
   * Waits until the agent has announced a boot other than `afterBootId` (any boot when it is
   * not given) and returns that boot's id.
   */
  async ready(timeoutMs: number, afterBootId?: string): Promise<string> {
    await this.ensureConnected();
    const until = Date.now() + timeoutMs;
    for (;;) {
      let last: string | undefined;
      for (const m of this.buffer.matchAll(/@@agent-ready ([0-9a-f-]+)@@/g)) last = m[1];
      if (last !== undefined && last !== afterBootId) return last;
      if (this.closed || !this.alive()) throw new Error(`guest is gone while waiting for its agent\n${this.consoleTail()}`);
      if (Date.now() > until) throw new Error(`the guest agent did not ${afterBootId ? 'come back after the reboot' : 'start'} within ${timeoutMs} ms (host load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})\n${this.consoleTail() || '(nothing on the console: the kernel boots with quiet)'}`);
      await this.nextData(Math.min(250, until - Date.now()));
    }
  }

  /** Runs a bash (full guest) or ash (lean guest) script as root; never rejects on a non-zero exit. */
  async exec(script: string, timeoutMs = 60_000): Promise<ExecResult> {
    await this.ensureConnected();
    const id = `c${process.pid}x${++this.seq}`;
    this.socket!.write(`${id} ${Buffer.from(script).toString('base64')}\n`);
    const rc = await this.waitFor(new RegExp(`@@rc ${id} (\\d+)@@`), timeoutMs, `the answer to ${JSON.stringify(script.slice(0, 80))}`);
    const field = (name: string): string => {
      const m = new RegExp(`@@${name} ${id} ([A-Za-z0-9+/=]*)@@`).exec(this.buffer);
      return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    };
    const result = { code: Number(rc[1]), stdout: field('out'), stderr: field('err') };
    // Keep the buffer small: everything up to this answer is consumed (agent-ready lines stay
    // findable because ready() is only ever waited for before or between commands).
    const end = this.buffer.indexOf(rc[0]) + rc[0].length;
    const readyLines = this.buffer.slice(0, end).match(/@@agent-ready [0-9a-f-]+@@/g) ?? [];
    this.buffer = readyLines.slice(-1).join('') + this.buffer.slice(end);
    return result;
  }

  /** exec() that throws unless the script exits 0; resolves with its stdout. */
  async run(script: string, timeoutMs = 60_000): Promise<string> {
    const r = await this.exec(script, timeoutMs);
    if (r.code !== 0) throw new Error(`guest command failed (exit ${r.code}): ${script}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
    for (const w of this.waiters) w();
  }
}
