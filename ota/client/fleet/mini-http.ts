// A minimal HTTP/1.1 client for the fleet connection: one request per connection
// (`connection: close`), over node:tls or node:net, the response read to its end (bounded) and
// parsed (content-length, chunked or until close). Why not undici: in an idle fleet-mode agent
// undici alone cost ~23 MB of RSS (its bundle parsed and compiled), and the agent's idle RSS is a
// budget; node:tls and node:net are part of the runtime. The pin check (fleet-http.ts) runs in
// `onSecure`, after the handshake and before a byte of the request is written.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface MiniRequest {
  readonly url: URL;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** TLS only: throw to refuse the peer (the socket is destroyed, nothing sent). */
  readonly onSecure?: (socket: TLSSocket) => void;
}

export interface MiniResponse { readonly status: number; readonly headers: Record<string, string>; readonly body: Buffer }

export class TooLarge extends Error {}

export function miniRequest(req: MiniRequest): Promise<MiniResponse> {
  return new Promise((resolve, reject) => {
    const u = req.url;
    const tls = u.protocol === 'https:';
    const port = Number(u.port || (tls ? 443 : 80));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | null, res?: MiniResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err); else resolve(res!);
    };
    const send = (): void => {
      const head = [`${req.method} ${req.path} HTTP/1.1`, `host: ${u.host}`, 'connection: close', ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)];
      if (req.body) head.push(`content-length: ${req.body.length}`);
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      if (req.body) socket.write(req.body);
    };
    const socket: Socket = tls
      ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined as unknown as string : host, rejectUnauthorized: false }, () => {
        try { req.onSecure?.(socket as TLSSocket); } catch (err) { finish(err as Error); return; }
        send();
      })
      : netConnect({ host, port }, send);
    const timer = setTimeout(() => finish(Object.assign(new Error(`no answer in ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' })), req.timeoutMs);
    socket.on('data', (c: Buffer) => {
      size += c.length;
      if (size > req.maxBytes + 64 * 1024) { finish(new TooLarge(`answer larger than ${req.maxBytes} bytes`)); return; }
      chunks.push(c);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      if (settled) return;
      try { finish(null, parse(Buffer.concat(chunks), req.maxBytes)); } catch (err) { finish(err as Error); }
    });
  });
}

function parse(raw: Buffer, maxBytes: number): MiniResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw Object.assign(new Error('the connection closed before a whole answer'), { code: 'ECONNRESET' });
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw Object.assign(new Error('not an HTTP answer'), { code: 'EPROTO' });
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim(); }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  if (body.length > maxBytes) throw new TooLarge(`answer larger than ${maxBytes} bytes`);
  return { status: Number(m[1]), headers, body };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', at);
    if (nl < 0) throw Object.assign(new Error('truncated chunked answer'), { code: 'ECONNRESET' });
    const n = parseInt(b.subarray(at, nl).toString('latin1'), 16);
    if (!Number.isFinite(n)) throw Object.assign(new Error('bad chunk size'), { code: 'EPROTO' });
    if (n === 0) return Buffer.concat(out);
    out.push(b.subarray(nl + 2, nl + 2 + n));
    at = nl + 2 + n + 2;
  }
}
