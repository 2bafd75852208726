// Core's side of the protocol: one Unix socket connection to the payout process, opened on
// first use and re-opened after it drops. Each call is an envelope with a fresh id and
// timestamp; the answer's error code comes back as a LucidError with that code (so the API
// maps it to its HTTP status). No payout process → PAYOUT_ERR_UNAVAILABLE.
import { randomUUID } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { ERROR_CATALOGUE, LucidError, type ErrorCode } from '../common/errors.js';
import { PROTOCOL_VERSION, type Op, type OpArgs, type Reply } from './protocol.js';

export interface PayoutClientOptions {
  readonly socketPath: string;
  readonly timeoutMs?: number;
}

export class PayoutClient {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending = new Map<string, { resolve: (r: Reply) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly options: PayoutClientOptions) {}

  get socketPath(): string { return this.options.socketPath; }

  async call<O extends Op>(op: O, args: OpArgs<O>, timeoutMs = this.options.timeoutMs ?? 30_000): Promise<unknown> {
    const envelope = { v: PROTOCOL_VERSION, id: randomUUID(), at: Date.now(), op, args };
    return this.send(envelope, timeoutMs);
  }

  /** Sends any object as one line (tests use it to send malformed or replayed messages). */
  async send(message: unknown, timeoutMs = this.options.timeoutMs ?? 30_000): Promise<unknown> {
    const socket = await this.connect();
    const id = (message as { id?: unknown })?.id;
    const key = typeof id === 'string' ? id : '';
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new LucidError('PAYOUT_ERR_UNAVAILABLE', 'the payout process did not answer in time'));
      }, timeoutMs);
      this.pending.set(key, { resolve, timer });
      socket.write(`${JSON.stringify(message)}\n`);
    });
    if (reply.ok) return reply.result;
    const code = (Object.hasOwn(ERROR_CATALOGUE, reply.error.code) ? reply.error.code : 'API_ERR_INTERNAL') as ErrorCode;
    throw new LucidError(code, reply.error.message, reply.error.details);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const s = createConnection(this.options.socketPath);
      let buffer = '';
      s.setEncoding('utf8');
      s.once('connect', () => { this.socket = s; this.connecting = null; resolve(s); });
      s.on('error', (err) => {
        this.connecting = null;
        reject(new LucidError('PAYOUT_ERR_UNAVAILABLE', `no payout process at ${this.options.socketPath} (${(err as NodeJS.ErrnoException).code ?? err.message})`));
      });
      s.on('close', () => {
        if (this.socket === s) this.socket = null;
        for (const [key, p] of this.pending) {
          clearTimeout(p.timer);
          p.resolve({ v: PROTOCOL_VERSION, re: key, ok: false, error: { code: 'PAYOUT_ERR_UNAVAILABLE', message: 'the payout process closed the connection' } });
        }
        this.pending.clear();
      });
      s.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          let r: Reply;
          try { r = JSON.parse(line) as Reply; } catch { continue; }
          const p = this.pending.get(r.re) ?? (r.re === '' ? this.pending.get('') : undefined);
          if (!p) continue;
          this.pending.delete(r.re);
          clearTimeout(p.timer);
          p.resolve(r);
        }
      });
    });
    return this.connecting;
  }
}
