// A minimal QMP client (qemu's machine protocol, JSON lines on a unix socket), for the power-cut
// loop: `stop` freezes the guest (vCPUs halted, in-flight disk requests drained), the host copies
// the data disk, `cont` lets it run on. With the disk opened cache=none the copy holds exactly
// what a SIGKILL of qemu at that instant would leave in the file: every write the guest kernel
// issued and qemu completed, nothing of the guest's page cache.
//
//   const qmpSocket = join(dir, 'qmp.sock');
//   bootLeanGuest({ …, extraArgs: qmpArgs(qmpSocket) });
//   const qmp = await Qmp.connect(qmpSocket);
//   await qmp.execute('stop'); …copy…; await qmp.execute('cont');
import { createConnection, type Socket } from 'node:net';

export function qmpArgs(socket: string): string[] {
  return ['-qmp', `unix:${socket},server=on,wait=off`];
}

interface Pending { resolve(v: unknown): void; reject(e: Error): void }

export class Qmp {
  private buffer = '';
  private readonly queue: Pending[] = [];
  private greeted: Pending | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
      }
    });
    const fail = (err: Error): void => {
      for (const p of this.queue.splice(0)) p.reject(err);
      this.greeted?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('QMP socket closed')));
  }

  /** Connects (retrying while qemu creates the socket) and leaves capabilities negotiation done. */
  static async connect(path: string, timeoutMs = 30_000): Promise<Qmp> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path, () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(socket);
        await new Promise((resolve, reject) => { qmp.greeted = { resolve, reject }; });
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (err) {
        if (Date.now() > until) throw new Error(`QMP ${path}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private onMessage(m: Record<string, unknown>): void {
    if ('QMP' in m) {
      this.greeted?.resolve(m);
      this.greeted = null;
      return;
    }
    if ('event' in m) return; // STOP, RESUME, …: the command's own answer is what counts
    const p = this.queue.shift();
    if (!p) return;
    if ('error' in m) p.reject(new Error(`QMP error: ${JSON.stringify(m['error'])}`));
    else p.resolve(m['return']);
  }

  /** Runs one command; resolves with its `return` value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
