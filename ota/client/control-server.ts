// The agent's control socket: what core's /api/v1/ota routes call (ota/shared/agent-socket.ts).
// Small JSON requests only (a bundle comes as a path core already stored on the data volume);
// answers are the status document or a coded error in the API's error shape.
import type { Server } from 'node:net';
import { LucidError, isLucidError } from '../../services/common/errors.js';
import type { Logger } from '../../services/common/log.js';
import { serveAgentSocket, type AgentReply, type AgentRequest } from '../shared/agent-socket.js';
import type { Agent } from './agent.js';

/** Fleet mode, started on first use (an enrollment entered on the Updates page). */
export interface FleetPort { enroll(url: string, token: string): Promise<unknown> }

async function route(agent: Agent, req: AgentRequest, fleet: () => Promise<FleetPort>): Promise<AgentReply> {
  switch (`${req.method} ${req.path}`) {
    case 'POST /fleet/enroll': {
      const b = (req.body ?? {}) as { url?: unknown; token?: unknown };
      if (typeof b.url !== 'string' || typeof b.token !== 'string') throw new LucidError('API_ERR_BAD_REQUEST', 'url and token are required');
      await (await fleet()).enroll(b.url, b.token);
      return { status: 200, body: await agent.status() };
    }
    case 'GET /status': return { status: 200, body: await agent.status() };
    case 'POST /check': return { status: 200, body: await agent.checkNow() };
    case 'POST /install': return { status: 202, body: await agent.install() };
    case 'POST /rollback': return { status: 202, body: await agent.rollback() };
    case 'POST /bundle': {
      const b = (req.body ?? {}) as { path?: unknown; install?: unknown };
      if (typeof b.path !== 'string' || b.path.length === 0 || b.path.length > 4096) throw new LucidError('API_ERR_BAD_REQUEST', 'path is required');
      return { status: 202, body: await agent.bundle(b.path, b.install === true) };
    }
    default:
      return { status: 404, body: { statusCode: 404, code: 'API_ERR_NOT_FOUND', message: `no route ${req.method} ${req.path}` } };
  }
}

export function startControlServer(agent: Agent, socketPath: string, log: Logger, fleet: () => Promise<FleetPort>): Promise<Server> {
  return serveAgentSocket(socketPath, (req) => route(agent, req, fleet).catch((err: unknown) => {
    if (isLucidError(err)) {
      return { status: err.statusCode, body: { statusCode: err.statusCode, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
    }
    log.error({ err }, 'ota control request failed');
    return { status: 500, body: { statusCode: 500, code: 'API_ERR_INTERNAL', message: 'internal error' } };
  }));
}
