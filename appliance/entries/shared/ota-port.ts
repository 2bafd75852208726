// Core's port to the OTA agent (services/api's OtaPort): requests over the agent's unix socket.
import { join } from 'node:path';
import type { OtaPort } from '../../../services/api/index.js';
import { agentRequest, agentSocketPath } from '../../../ota/shared/agent-socket.js';
import type { OtaStatus } from '../../../ota/shared/status.js';

export function otaPort(dataDir: string, maxBundleBytes: number): OtaPort {
  const socket = agentSocketPath(dataDir);
  return {
    incomingDir: join(dataDir, 'ota', 'incoming'),
    maxBundleBytes,
    // /api/v1/status must stay fast when the agent is busy or gone: a short wait, then null.
    status: () => agentRequest(socket, 'GET', '/status', undefined, 800).then((r) => (r.status === 200 ? (r.body as OtaStatus) : null), () => null),
    call: (method, path, body) => agentRequest(socket, method, path, body),
  };
}
