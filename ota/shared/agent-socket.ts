// How core talks to the OTA agent: HTTP/1.1 with JSON over a unix socket on the data volume
// (`<data>/ota/agent.sock`, mode 0600, the appliance user only). The supervisor never relays
// service traffic, and a socket needs no port. Errors come back in the API's error shape.
import { request, type Server } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, isLucidError } from '../../services/common/errors.js';

export const agentSocketPath = (dataDir: string): string => join(dataDir, 'ota', 'agent.sock');

export interface AgentReply { readonly status: number; readonly body: unknown }

export function agentRequest(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 120_000): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = request({
      socketPath, method, path, timeout: timeoutMs,
      headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 500, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new LucidError('OTA_ERR_AGENT_UNAVAILABLE', `the update agent did not answer ${method} ${path} in time`)));
    req.on('error', (err) => reject(isLucidError(err) ? err : new LucidError('OTA_ERR_AGENT_UNAVAILABLE', `the update agent is not reachable (${(err as Error).message})`)));
    req.end(payload ?? undefined);
  });
}

/** The agent's side: listen on the socket (replacing a stale one), owner-only. */
export async function listenOnSocket(server: Server, socketPath: string): Promise<void> {
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => { server.off('error', reject); resolve(); });
  });
  await chmod(socketPath, 0o600);
}
