// The payout side of the protocol: a Unix socket server, newline-delimited JSON. Each line is
// checked (size, JSON, version, schema, replay) before its op runs; the answer carries the
// request's id. The socket file is the only way in: its directory and mode decide who may
// connect (on a device: core's group; README "Isolation").
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { LucidError, errnoCode, isLucidError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, ReplayGuard, parseRequest, type Op, type Reply } from './protocol.js';

export interface PayoutServerDeps {
  readonly socketPath: string;
  /** 0o600 in development (same user), 0o660 where core connects through a shared group. */
  readonly socketMode: number;
  readonly handle: (op: Op, args: unknown) => Promise<unknown>;
  readonly log: Logger;
  readonly now?: () => number;
}

const reply = (socket: Socket, r: Reply): void => {
  if (!socket.destroyed) socket.write(`${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`);
};

export class PayoutServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly guard: ReplayGuard;

  constructor(private readonly deps: PayoutServerDeps) {
    this.guard = new ReplayGuard((deps.now ?? Date.now)(), deps.now);
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.deps.socketPath), { recursive: true, mode: 0o750 });
    await unlink(this.deps.socketPath).catch((err: unknown) => { if (errnoCode(err) !== 'ENOENT') throw err; });
    const server = createServer((socket) => this.connection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.deps.socketPath, () => { server.off('error', reject); resolve(); });
    });
    await chmod(this.deps.socketPath, this.deps.socketMode);
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private connection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_MESSAGE_BYTES && !buffer.includes('\n')) {
        reply(socket, { v: PROTOCOL_VERSION, re: '', ok: false, error: { code: 'PAYOUT_ERR_IPC_SCHEMA', message: `message longer than ${MAX_MESSAGE_BYTES} bytes` } });
        socket.destroy();
        return;
      }
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) void this.request(socket, line);
      }
    });
  }

  private async request(socket: Socket, line: string): Promise<void> {
    let re = '';
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw new LucidError('PAYOUT_ERR_IPC_SCHEMA', 'not JSON');
      }
      if (typeof (raw as { id?: unknown })?.id === 'string') re = (raw as { id: string }).id;
      const { envelope, op, args } = parseRequest(raw);
      this.guard.check(envelope);
      const result = await this.deps.handle(op, args);
      reply(socket, { v: PROTOCOL_VERSION, re, ok: true, result });
    } catch (err) {
      if (isLucidError(err)) {
        if (err.code.startsWith('PAYOUT_ERR_IPC')) this.deps.log.warn({ code: err.code, err: err.message }, 'refused a message');
        reply(socket, { v: PROTOCOL_VERSION, re, ok: false, error: err.toJSON() });
      } else {
        this.deps.log.error({ err }, 'payout op failed');
        reply(socket, { v: PROTOCOL_VERSION, re, ok: false, error: { code: 'API_ERR_INTERNAL', message: 'internal error' } });
      }
    }
  }
}
