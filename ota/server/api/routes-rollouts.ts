// Channels (release repositories), releases and rollouts: create, per-stage progress with the
// failures and their reasons, and the admin commands.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Principal } from '../../../services/api/index.js';
import * as T from '../../../services/common/schema.js';
import { FAILED_MEMBER_STATES, type RolloutRecord, type StageSpec } from '../store/types.js';
import { stageStart } from '../domain/rollout-plan.js';
import type { FleetParts } from '../server.js';
import * as S from './schemas.js';

const me = (r: FastifyRequest): Principal => r.principal!;

export const rolloutRoutes = (p: FleetParts): FastifyPluginAsync => async (app) => {
  app.get('/api/v1/channels', {
    config: { permission: 'user' },
    schema: { tags: ['releases'], summary: 'Channels (release repositories) and their last sync', response: { 200: T.Array(S.Channel), ...S.errors } },
  }, async () => (await p.store.listChannels()).map(({ rootJson: _r, ...c }) => c));
  app.post('/api/v1/channels', {
    config: { permission: 'admin' },
    schema: { tags: ['releases'], summary: 'Add a release repository, pinned to the root.json its devices ship; synced at once', body: S.ChannelBody, response: { 201: S.Channel, ...S.errors } },
  }, async (r, reply) => {
    const c = await p.releases.createChannel(me(r).userId, r.body as { name: string; repositoryUrl: string; tufChannel?: string; rootJson: string });
    await p.audit('channel.create', me(r).userId, c.name, 'success', { repositoryUrl: c.repositoryUrl, tufChannel: c.tufChannel });
    await p.releases.sync(c.name).catch(() => {}); // the failure is on the channel (lastSync)
    const { rootJson: _r, ...out } = (await p.store.getChannel(c.name))!;
    return reply.code(201).send(out);
  });
  app.post('/api/v1/channels/:id/sync', {
    config: { permission: 'admin' },
    schema: { tags: ['releases'], summary: 'Mirror the channel\'s repository now (verified against its pinned root)', params: S.IdParams, response: { 200: T.Object({ changed: T.Boolean(), release: T.Union([S.Release, T.Null()]), timestampVersion: T.Integer() }), ...S.errors } },
  }, async (r) => p.releases.sync((r.params as { id: string }).id));
  app.get('/api/v1/releases', {
    config: { permission: 'user' },
    schema: { tags: ['releases'], summary: 'Releases seen on the channels (current: what TUF signs now)', response: { 200: T.Array(S.Release), ...S.errors } },
  }, async () => p.store.listReleases());

  const tags = ['rollouts'];
  app.get('/api/v1/rollouts', {
    config: { permission: 'user' },
    schema: { tags, summary: 'Rollouts, newest first', response: { 200: T.Array(S.Rollout), ...S.errors } },
  }, async () => p.rollouts.list());
  app.post('/api/v1/rollouts', {
    config: { permission: 'admin' },
    schema: { tags, summary: 'Roll a signed release out to a group in stages (a production group waits for a second admin)', body: S.RolloutBody, response: { 201: S.RolloutCreated, ...S.errors } },
  }, async (r, reply) => {
    const b = r.body as { releaseId: string; groupId: string; stages: Array<StageSpec & { maxFailureRate?: number | null }>; rollbackOnHalt?: boolean; reason?: string };
    const stages = b.stages.map((s) => ({ ...s, maxFailureRate: s.maxFailureRate ?? null }));
    const out = await p.rollouts.create(me(r), { releaseId: b.releaseId, groupId: b.groupId, stages, rollbackOnHalt: b.rollbackOnHalt ?? true, ...(b.reason ? { reason: b.reason } : {}) });
    return reply.code(201).send({ rollout: out.rollout, skipped: out.skipped.length, approvalId: out.approvalId });
  });
  app.get('/api/v1/rollouts/:id', {
    config: { permission: 'user' },
    schema: { tags, summary: 'A rollout with per-stage progress and its failures with reasons', params: S.IdParams, response: { 200: T.Object({ rollout: S.Rollout, stages: T.Array(T.Object({}, { additionalProperties: true })), failures: T.Array(T.Object({}, { additionalProperties: true })) }), ...S.errors } },
  }, async (r) => {
    const ro = await p.rollouts.get((r.params as { id: string }).id);
    return { rollout: ro, ...(await progress(p, ro)) };
  });
  app.post('/api/v1/rollouts/:id/:action', {
    config: { permission: 'admin' },
    schema: { tags, summary: 'pause | resume | abort | retry (the failed) | advance (to the next stage now)', params: S.RolloutAction, response: { 200: S.Rollout, ...S.errors } },
  }, async (r) => {
    const { id, action } = r.params as { id: string; action: 'pause' | 'resume' | 'abort' | 'retry' | 'advance' };
    return p.rollouts.command(me(r), id, action);
  });
};

/** Per-stage counts (one query per stage) and the failed members with their reasons. */
export async function progress(p: FleetParts, r: RolloutRecord): Promise<{ stages: Record<string, unknown>[]; failures: Record<string, unknown>[] }> {
  const edge = p.now() - p.config.offlineAfterS * 1000;
  const stages: Record<string, unknown>[] = [];
  for (let i = 0; i < r.stages.length; i++) {
    const from = stageStart(r, i);
    const to = r.stageEnds[i] ?? from;
    const c = await p.store.stageCounts(r.id, from, to, edge);
    const by: Record<string, number> = {};
    for (const side of [c.online, c.offline]) for (const [s, n] of Object.entries(side)) by[s] = (by[s] ?? 0) + (n ?? 0);
    const offline = Object.values(c.offline).reduce((a, n) => a + (n ?? 0), 0);
    const h = r.history.find((x) => x.stage === i);
    stages.push({ stage: i + 1, spec: r.stages[i], devices: to - from, states: by, offline, startedAt: h?.startedAt ?? null, endedAt: h?.endedAt ?? null, how: h?.how ?? null });
  }
  const failures = (await p.store.listMembers(r.id, { states: [...FAILED_MEMBER_STATES, 'reverting', 'reverted'], limit: 100 }))
    .map((m) => ({ deviceId: m.deviceId, state: m.state, reason: m.reason, stage: r.stageEnds.findIndex((e) => m.ord < e) + 1, at: m.updatedAt }));
  return { stages, failures };
}
