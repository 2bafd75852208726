// The agent's control socket: what core's /api/v1/ota routes call. Small JSON requests only
// (a bundle comes as a path core already stored on the data volume); answers are the status
// document or a coded error.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { LucidError, isLucidError } from '../../services/common/errors.js';
import type { Logger } from '../../services/common/log.js';
import { listenOnSocket } from '../shared/agent-socket.js';
import type { Agent } from './agent.js';

const MAX_BODY = 4096;

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new LucidError('API_ERR_BODY_TOO_LARGE');
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* below */ }
  throw new LucidError('API_ERR_BAD_REQUEST', 'the body must be a JSON object');
}

export async function startControlServer(agent: Agent, socketPath: string, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, value: unknown): void => {
      const text = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    void (async () => {
      const route = `${req.method} ${req.url}`;
      switch (route) {
        case 'GET /status': return send(200, await agent.status());
        case 'POST /check': return send(200, await agent.checkNow());
        case 'POST /install': return send(202, await agent.install());
        case 'POST /rollback': return send(202, await agent.rollback());
        case 'POST /bundle': {
          const b = await body(req);
          if (typeof b['path'] !== 'string' || b['path'].length === 0) throw new LucidError('API_ERR_BAD_REQUEST', 'path is required');
          return send(202, await agent.bundle(b['path'], b['install'] === true));
        }
        default: return send(404, { statusCode: 404, code: 'API_ERR_NOT_FOUND', message: `no route ${route}` });
      }
    })().catch((err: unknown) => {
      if (isLucidError(err)) {
        send(err.statusCode, { statusCode: err.statusCode, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
      } else {
        log.error({ err }, 'ota control request failed');
        send(500, { statusCode: 500, code: 'API_ERR_INTERNAL', message: 'internal error' });
      }
    });
  });
  await listenOnSocket(server, socketPath);
  return server;
}
