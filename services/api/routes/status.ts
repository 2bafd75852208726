// GET /api/v1/status: everything the status page shows, in one read. Works in a distroless
// image: system facts come from /proc and /sys through the HAL, never from a shell.
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { StatusSchema, NodeSchema, type Status } from '../schemas/status.js';
import { healthOf } from './health.js';

export const statusRoutes = (deps: ApiDeps): FastifyPluginAsync => async (app) => {
  let lastButtonEvent: Status['lastButtonEvent'] = null;
  const unsubscribe = deps.supervisor.onEvent((e) => {
    if (e.kind === 'button') lastButtonEvent = { action: e.action, at: e.at };
  });
  app.addHook('onClose', async () => unsubscribe());

  app.get('/api/v1/status', {
    // 'user': versions, pids, restarts and system facts help an attacker pick an exploit.
    config: { permission: 'user' },
    schema: { tags: ['system'], summary: 'Live status of the appliance', response: { 200: StatusSchema } },
  }, async (): Promise<Status> => {
    const snapshot = deps.supervisor.snapshot;
    const { healthy, reasons } = healthOf(deps);
    const memory = process.memoryUsage();
    const system = await deps.system.read();
    return {
      version: deps.version,
      revision: deps.revision,
      uptimeSec: snapshot ? (Date.now() - snapshot.startedAt) / 1000 : process.uptime(),
      node: { id: deps.identity.nodeId, publicKey: deps.identity.publicKeyHex },
      healthy,
      reasons,
      supervised: deps.supervisor.attached,
      children: (snapshot?.children ?? []).map((c) => ({
        name: c.name, critical: c.critical, state: c.phase, pid: c.pid, restarts: c.restarts, startedAt: c.startedAt,
        readyAt: c.readyAt, nextStartAt: c.nextStartAt, lastExit: c.lastExit, failedReason: c.failedReason, failedSince: c.failedSince,
      })),
      led: snapshot ? { ...snapshot.led, steps: [...snapshot.led.steps], drivers: [...snapshot.led.drivers] } : null,
      locks: (snapshot?.locks ?? []).map((l) => ({ name: l.name, holders: [...l.holders] })),
      hal: snapshot?.hal ?? null,
      lastButtonEvent,
      core: {
        name: 'core', pid: process.pid, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, uptimeSec: process.uptime(),
      },
      system: { ...system, loadavg: system.loadavg ? [...system.loadavg] : null },
      ota: (deps.ota ? await deps.ota.status() : null) as Status['ota'],
    };
  });

  app.get('/api/v1/node', {
    // Public: the node identity is public information for consensus.
    config: { permission: 'public' },
    schema: { tags: ['system'], summary: 'This node\'s identity', response: { 200: NodeSchema } },
  }, async () => ({ id: deps.identity.nodeId, publicKey: deps.identity.publicKeyHex, algorithm: 'ed25519' as const }));
};
