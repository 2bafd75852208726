// How core talks to the OTA agent: one JSON line per request and one per answer over a unix
// socket on the data volume (`<data>/ota/agent.sock`, mode 0600: the appliance user only). The
// supervisor never relays service traffic, and a socket needs no port. Not HTTP on purpose:
// node:http's server costs an idle process ~14 MB of RSS (its parser and JavaScript), node:net
// under 1 MB, and the agent's idle RSS is a budget (`./build.sh bench ota`).
//   request  {"method":"GET"|"POST","path":"/status","body":{…}}\n
//   answer   {"status":200,"body":{…}}\n         (errors: the API's error shape in body)
import { connect, createServer, type Server, type Socket } from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, isLucidError } from '../../services/common/errors.js';

export const agentSocketPath = (dataDir: string): string => join(dataDir, 'ota', 'agent.sock');
const MAX_LINE = 1024 * 1024;

export interface AgentRequest { readonly method: 'GET' | 'POST'; readonly path: string; readonly body?: unknown }
export interface AgentReply { readonly status: number; readonly body: unknown }

/** Reads newline-terminated JSON values from a socket, at most MAX_LINE bytes each. */
function onLines(socket: Socket, handle: (value: unknown) => void, fail: (err: Error) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        handle(JSON.parse(line));
      } catch (err) {
        fail(err as Error);
        return;
      }
    }
    if (buffered.length > MAX_LINE) fail(new Error('line too long'));
  });
}

export function agentRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 120_000): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const done = (err: Error | null, reply?: AgentReply): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(isLucidError(err) ? err : new LucidError('OTA_ERR_AGENT_UNAVAILABLE', `the update agent is not reachable (${err.message})`));
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new LucidError('OTA_ERR_AGENT_UNAVAILABLE', `the update agent did not answer ${method} ${path} in time`)), timeoutMs);
    socket.once('error', (err) => done(err));
    socket.once('connect', () => socket.write(`${JSON.stringify({ method, path, ...(body === undefined ? {} : { body }) })}\n`));
    onLines(socket, (v) => {
      const r = v as Partial<AgentReply>;
      if (typeof r.status === 'number') done(null, { status: r.status, body: r.body ?? null });
      else done(new Error('malformed answer'));
    }, (err) => done(err));
    socket.once('end', () => done(new Error('the agent closed the connection')));
  });
}

/** The agent's side: each request line gets one answer line; connections are closed by clients. */
export async function serveAgentSocket(socketPath: string, handle: (req: AgentRequest) => Promise<AgentReply>): Promise<Server> {
  await rm(socketPath, { force: true });
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    onLines(socket, (v) => {
      const r = v as Partial<AgentRequest> | null;
      const req: AgentRequest | null = r && (r.method === 'GET' || r.method === 'POST') && typeof r.path === 'string' ? { method: r.method, path: r.path, body: r.body } : null;
      const answer = req ? handle(req) : Promise.resolve({ status: 400, body: { statusCode: 400, code: 'API_ERR_BAD_REQUEST', message: 'malformed request' } });
      void answer.then((a) => { if (!socket.destroyed) socket.write(`${JSON.stringify(a)}\n`); });
    }, () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => { server.off('error', reject); resolve(); });
  });
  await chmod(socketPath, 0o600);
  return server;
}
