// What devices call: enrollment, signed check-ins and reports, the mirrored TUF repository; and
// what monitors call: /healthz and /metrics. Public routes: a device authenticates each message
// with its node key (the signature is the credential). No per-IP rate limit on these: a whole
// site's devices may come from one address behind NAT (and the benchmark's 100,000 do).
import type { FastifyPluginAsync } from 'fastify';
import type { HistogramSeries } from '../../../services/common/metrics.js';
import { LucidError } from '../../../services/common/errors.js';
import type { EnrollRequest, Envelope } from '../../shared/fleet-protocol.js';
import type { FleetParts } from '../server.js';
import * as S from './schemas.js';

const device = { permission: 'public' as const, rateLimit: false as const };

export const deviceRoutes = (p: FleetParts, checkinSeconds: { series(l?: Record<string, string>): HistogramSeries }): FastifyPluginAsync => async (app) => {
  const tags = ['device'];
  const ok = checkinSeconds.series({ outcome: 'ok' });
  const refused = checkinSeconds.series({ outcome: 'refused' });

  // What an appliance needs before it enrolls: the fleet id its enrollment proof binds in.
  app.get('/api/v1/device/fleet', {
    config: device,
    schema: { tags, summary: 'The fleet id (an enrollment proof signs it)', response: { 200: S.FleetHello } },
  }, async () => ({ fleetId: p.fleetId }));

  app.post('/api/v1/device/enroll', {
    config: device,
    schema: { tags, summary: 'Enroll with a single-use token, proving the node key', body: S.EnrollBody, response: { 200: S.EnrollReply, ...S.errors } },
  }, async (request) => p.devices.enroll(request.body as EnrollRequest));

  app.post('/api/v1/device/checkin', {
    config: device,
    schema: { tags, summary: 'Signed check-in: status in, assignment out', body: S.Envelope, response: { 200: S.CheckinReply, ...S.errors } },
  }, async (request) => {
    const t0 = performance.now();
    try {
      const out = await p.devices.checkin(request.body as Envelope);
      ok.observe((performance.now() - t0) / 1000);
      return out;
    } catch (err) {
      refused.observe((performance.now() - t0) / 1000);
      throw err;
    }
  });

  app.post('/api/v1/device/report', {
    config: device,
    schema: { tags, summary: 'Signed report of one update step of an assignment', body: S.Envelope, response: { 200: S.ReportReply, ...S.errors } },
  }, async (request) => p.devices.report(request.body as Envelope));

  // The channel's mirrored TUF repository (metadata/, targets/), as `release publish` laid it out.
  app.get('/tuf/:channel/*', {
    config: { permission: 'public', rateLimit: false },
    schema: { tags, summary: 'The channel\'s TUF repository (mirrored, verified)', hide: true },
  }, async (request, reply) => {
    const { channel, '*': path } = request.params as { channel: string; '*': string };
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(channel) || !/^(metadata|targets)\/[A-Za-z0-9._/-]{1,300}$/.test(path) || path.includes('..')) {
      throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such TUF file');
    }
    const bytes = await p.store.getTufFile(channel, path);
    if (!bytes) throw new LucidError('FLEET_ERR_NOT_FOUND', `no ${path} in channel ${channel}`);
    return reply.type('application/json').header('cache-control', 'no-cache').send(bytes);
  });

  app.get('/healthz', {
    config: { permission: 'public' },
    schema: { tags: ['system'], summary: 'Liveness', response: { 200: S.Ok } },
  }, async () => ({ ok: true }));

  app.get('/metrics', {
    config: { permission: 'public' },
    schema: { tags: ['system'], summary: 'Prometheus metrics: devices by state, rollout progress, check-in latency', produces: ['text/plain'] },
  }, async (_request, reply) => {
    const now = p.now();
    const c = await p.store.countDevices(now - p.config.offlineAfterS * 1000);
    const lines = [
      '# HELP lucid_fleet_devices Enrolled devices by state', '# TYPE lucid_fleet_devices gauge',
      `lucid_fleet_devices{state="online"} ${c.total - c.offline}`, `lucid_fleet_devices{state="offline"} ${c.offline}`,
      ...Object.entries(c.byHealth).map(([h, n]) => `lucid_fleet_devices_health{health="${h}"} ${n}`),
      '# HELP lucid_fleet_rollout_members Members of live rollouts by state', '# TYPE lucid_fleet_rollout_members gauge',
    ];
    for (const r of await p.store.listRollouts({ live: true, limit: 20 })) {
      const counts = await p.store.stageCounts(r.id, 0, r.total, now - p.config.offlineAfterS * 1000);
      const by = new Map<string, number>();
      for (const side of [counts.online, counts.offline]) for (const [s, n] of Object.entries(side)) by.set(s, (by.get(s) ?? 0) + (n ?? 0));
      for (const [s, n] of by) lines.push(`lucid_fleet_rollout_members{rollout="${r.id}",state="${s}"} ${n}`);
      lines.push(`lucid_fleet_rollout_stage{rollout="${r.id}",state="${r.state}"} ${r.stage + 1}`);
    }
    return reply.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n${p.metrics.render()}`);
  });
};
