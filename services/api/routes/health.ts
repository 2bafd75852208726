// GET /healthz: 200 when every critical child is ready, else 503 with the reasons.
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { HealthSchema } from '../schemas/status.js';

export function healthOf(deps: Pick<ApiDeps, 'supervisor'>): { healthy: boolean; reasons: string[] } {
  if (!deps.supervisor.attached) return { healthy: true, reasons: [] };
  const snapshot = deps.supervisor.snapshot;
  if (!snapshot) return { healthy: false, reasons: ['no state from the supervisor yet'] };
  return { healthy: snapshot.healthy, reasons: [...snapshot.reasons] };
}

export const healthRoutes = (deps: ApiDeps): FastifyPluginAsync => async (app) => {
  app.get('/healthz', {
    // Public and not rate limited: monitors and the supervisor's tests poll it many times a
    // second; it reveals only healthy/unhealthy and which child is not ready.
    config: { permission: 'public', rateLimit: false },
    schema: {
      tags: ['system'],
      summary: 'Liveness of the whole appliance',
      response: { 200: HealthSchema, 503: HealthSchema },
    },
  }, async (_request, reply) => {
    const { healthy, reasons } = healthOf(deps);
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unavailable', reasons });
  });
};
