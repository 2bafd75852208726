// The core ⇄ agent socket (JSON lines over a unix socket): answers, parallel requests, malformed
// input, an agent that is gone or does not answer — each a coded error, never a hang.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentRequest, serveAgentSocket } from '../../../ota/shared/agent-socket.js';

let dir: string;
let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

describe('agent socket', () => {
  it('answers each request line, in parallel, on an owner-only socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lucid-sock-'));
    const path = join(dir, 'agent.sock');
    server = await serveAgentSocket(path, async (req) => {
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      return { status: 200, body: { echo: req.path, got: req.body ?? null } };
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => agentRequest(path, 'POST', `/p${i}`, { i })));
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 25 }, (_, i) => ({ echo: `/p${i}`, got: { i } })));
  });

  it('refuses a malformed request with the API error shape', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lucid-sock-'));
    const path = join(dir, 'agent.sock');
    server = await serveAgentSocket(path, async () => ({ status: 200, body: {} }));
    const line = await new Promise<string>((resolve) => {
      const s = connect(path, () => s.write('{"method":"DELETE","path":"/x"}\n'));
      s.setEncoding('utf8');
      s.on('data', (d: string) => { resolve(d); s.destroy(); });
    });
    expect(JSON.parse(line)).toEqual({ status: 400, body: { statusCode: 400, code: 'API_ERR_BAD_REQUEST', message: 'malformed request' } });
  });

  it('reports an agent that is not there, or that does not answer in time, as OTA_ERR_AGENT_UNAVAILABLE', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lucid-sock-'));
    await expect(agentRequest(join(dir, 'none.sock'), 'GET', '/status')).rejects.toMatchObject({ code: 'OTA_ERR_AGENT_UNAVAILABLE' });
    const path = join(dir, 'slow.sock');
    server = await serveAgentSocket(path, () => new Promise(() => {}));
    const started = Date.now();
    await expect(agentRequest(path, 'GET', '/status', undefined, 300)).rejects.toMatchObject({ code: 'OTA_ERR_AGENT_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
