// GET /metrics: Prometheus text format.
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.js';

export const metricsRoutes = (deps: ApiDeps): FastifyPluginAsync => async (app) => {
  app.get('/metrics', {
    config: { permission: 'public' },
    schema: { tags: ['system'], summary: 'Prometheus metrics', produces: ['text/plain'] },
  }, async (_request, reply) => {
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render());
  });
};
