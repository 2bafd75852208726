// POST /api/v1/hal/button: press the simulated button (dev and tests). On real hardware the
// button is pressed by a finger, so the route refuses with HAL_ERR_NOT_SIMULATED.
import type { FastifyPluginAsync } from 'fastify';
import * as Type from '../../common/schema.js';
import { LucidError } from '../../common/errors.js';
import type { ApiDeps } from '../deps.js';
import { ErrorSchema } from '../errors.js';

const ButtonBody = Type.Object({
  action: Type.Union([Type.Literal('short'), Type.Literal('long'), Type.Literal('factory-reset')], {
    description: 'short press, long press (3–10 s: show the setup code) or ≥ 10 s (ask for a factory reset: the next press within LUCID_RESET_CONFIRM_MS confirms it)',
  }),
}, { additionalProperties: false });

export const halRoutes = (deps: ApiDeps): FastifyPluginAsync => async (app) => {
  app.post('/api/v1/hal/button', {
    // 'admin': a simulated long press prints the setup code, and ≥ 10 s requests a factory reset.
    config: { permission: 'admin' },
    schema: {
      tags: ['hal'],
      summary: 'Press the simulated button',
      body: ButtonBody,
      response: {
        202: Type.Object({
          accepted: Type.Boolean(),
          factoryReset: Type.Union([Type.Literal('armed'), Type.Literal('confirmed'), Type.Null()], {
            description: '`armed`: a factory reset waits for its confirming press; `confirmed`: core restarts and performs it; null: the press had nothing to do with a reset',
          }),
        }),
        409: ErrorSchema, 503: ErrorSchema,
      },
    },
  }, async (request, reply) => {
    const snapshot = deps.supervisor.snapshot;
    if (!deps.supervisor.attached || !snapshot) throw new LucidError('SUP_ERR_NOT_CONNECTED');
    if (snapshot.hal.mode !== 'sim') throw new LucidError('HAL_ERR_NOT_SIMULATED', 'the button is real on this device; press it');
    const { action } = request.body as { action: 'short' | 'long' | 'factory-reset' };
    const result = await deps.supervisor.request('hal.button', { action });
    return reply.code(202).send(result);
  });
};
