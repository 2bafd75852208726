// Inventory: devices (filter, health, version, last seen), enrollment tokens, tags and groups.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { LucidError } from '../../../services/common/errors.js';
import type { Principal } from '../../../services/api/index.js';
import * as T from '../../../services/common/schema.js';
import { normTags } from '../store/common.js';
import type { DeviceRecord, GroupFilter, GroupRecord, MaintenanceWindow } from '../store/types.js';
import { checkWindows, inGroup } from '../domain/groups.js';
import type { FleetParts } from '../server.js';
import * as S from './schemas.js';

const me = (r: FastifyRequest): Principal => r.principal!;

export const inventoryRoutes = (p: FleetParts): FastifyPluginAsync => async (app) => {
  const view = (d: DeviceRecord) => ({ ...d, online: d.lastSeenAt >= p.now() - p.config.offlineAfterS * 1000 });
  const tags = ['devices'];

  app.get('/api/v1/overview', {
    config: { permission: 'user' },
    schema: { tags: ['fleet'], summary: 'Counts for the dashboard', response: { 200: S.Overview, ...S.errors } },
  }, async () => ({
    devices: await p.store.countDevices(p.now() - p.config.offlineAfterS * 1000),
    rollouts: (await p.store.listRollouts({ live: true, limit: 20 })).map((r) => ({ id: r.id, state: r.state, stage: r.stage + 1, version: r.version, group: r.groupName })),
    approvals: (await p.approvals.list()).filter((a) => !a.expired).length,
    fleetId: p.fleetId, store: p.store.kind,
  }));

  app.get('/api/v1/devices', {
    config: { permission: 'user' },
    schema: { tags, summary: 'Devices (filter by tag, version, health, online/offline, name or id)', querystring: S.DeviceQuery, response: { 200: T.Array(S.Device), ...S.errors } },
  }, async (r) => {
    const q = r.query as { tag?: string; version?: string; health?: 'ok' | 'degraded' | 'failed'; state?: 'online' | 'offline'; search?: string; limit?: number; after?: string };
    const edge = p.now() - p.config.offlineAfterS * 1000;
    const list = await p.store.listDevices({
      ...(q.tag ? { tag: q.tag } : {}), ...(q.version ? { version: q.version } : {}), ...(q.health ? { health: q.health } : {}), ...(q.search ? { search: q.search } : {}),
      ...(q.state === 'offline' ? { offlineBefore: edge } : q.state === 'online' ? { onlineSince: edge } : {}), ...(q.after ? { after: q.after } : {}), limit: q.limit ?? 200,
    });
    return list.map(view);
  });
  app.get('/api/v1/devices/:id', {
    config: { permission: 'user' },
    schema: { tags, summary: 'One device', params: S.IdParams, response: { 200: S.Device, ...S.errors } },
  }, async (r) => {
    const d = await p.store.getDevice((r.params as { id: string }).id);
    if (!d) throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such device');
    return view(d);
  });
  app.put('/api/v1/devices/:id/tags', {
    config: { permission: 'admin' },
    schema: { tags, summary: 'Set a device\'s tags', params: S.IdParams, body: S.TagsBody, response: { 200: S.Device, ...S.errors } },
  }, async (r) => {
    const id = (r.params as { id: string }).id;
    const d = await p.store.setDeviceTags(id, normTags((r.body as { tags: string[] }).tags));
    if (!d) throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such device');
    await p.audit('device.tags', me(r).userId, id, 'success', { tags: d.tags });
    return view(d);
  });
  app.delete('/api/v1/devices/:id', {
    config: { permission: 'admin' },
    schema: { tags, summary: 'Remove a device (it must enroll again)', params: S.IdParams, response: { 200: S.Ok, ...S.errors } },
  }, async (r) => {
    const id = (r.params as { id: string }).id;
    if (!(await p.store.deleteDevice(id))) throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such device');
    p.devices.forget(id);
    await p.audit('device.delete', me(r).userId, id, 'success');
    return { ok: true };
  });

  app.post('/api/v1/enrollment-tokens', {
    config: { permission: 'admin' },
    schema: { tags: ['enrollment'], summary: 'A single-use enrollment token (shown once)', body: S.TokenBody, response: { 201: S.TokenReply, ...S.errors } },
  }, async (r, reply) => {
    const b = r.body as { tags?: string[]; ttlHours?: number };
    return reply.code(201).send(await p.devices.makeToken(me(r).userId, b.tags ?? [], b.ttlHours ? b.ttlHours * 3_600_000 : undefined));
  });
  app.get('/api/v1/enrollment-tokens', {
    config: { permission: 'admin' },
    schema: { tags: ['enrollment'], summary: 'Tokens made (never the token itself)', response: { 200: T.Array(T.Object({ id: T.String(), createdAt: T.Number(), expiresAt: T.Number(), usedBy: T.Union([T.String(), T.Null()]) }, { additionalProperties: true })), ...S.errors } },
  }, async () => (await p.store.listTokens()).map(({ hash: _h, ...t }) => t));

  const groupTags = ['groups'];
  const groupOf = (b: { name: string; kind: 'static' | 'dynamic'; members?: string[]; filter?: GroupFilter; tags?: string[]; windows?: MaintenanceWindow[] }, id: string, by: string, createdAt: number): GroupRecord => {
    if (b.kind === 'dynamic' && !b.filter) throw new LucidError('API_ERR_VALIDATION', 'a dynamic group needs a filter');
    checkWindows(b.windows ?? []);
    return {
      id, name: b.name, kind: b.kind, members: b.kind === 'static' ? [...new Set(b.members ?? [])] : [], filter: b.kind === 'dynamic' ? b.filter! : null,
      tags: normTags(b.tags ?? []), windows: b.windows ?? [], createdAt, createdBy: by,
    };
  };
  app.get('/api/v1/groups', {
    config: { permission: 'user' },
    schema: { tags: groupTags, summary: 'Groups', response: { 200: T.Array(S.Group), ...S.errors } },
  }, async () => p.store.listGroups());
  app.post('/api/v1/groups', {
    config: { permission: 'admin' },
    schema: { tags: groupTags, summary: 'A static (listed devices) or dynamic (filter on tags/version/arch) group', body: S.GroupBody, response: { 201: S.Group, ...S.errors } },
  }, async (r, reply) => {
    const g = groupOf(r.body as never, `g-${randomBytes(5).toString('hex')}`, me(r).userId, p.now());
    if (!(await p.store.createGroup(g))) throw new LucidError('FLEET_ERR_EXISTS', `group ${g.name} exists`);
    await p.audit('group.create', me(r).userId, g.id, 'success', { name: g.name, kind: g.kind, tags: g.tags });
    return reply.code(201).send(g);
  });
  app.get('/api/v1/groups/:id', {
    config: { permission: 'user' },
    schema: { tags: groupTags, summary: 'A group and how many devices are in it now', params: S.IdParams, response: { 200: S.Group, ...S.errors } },
  }, async (r) => {
    const g = await p.store.getGroup((r.params as { id: string }).id);
    if (!g) throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such group');
    const devices = (await p.store.listDevices({ limit: 1_000_000 })).filter((d) => inGroup(d, g)).length;
    return { ...g, devices };
  });
  app.put('/api/v1/groups/:id', {
    config: { permission: 'admin' },
    schema: { tags: groupTags, summary: 'Replace a group', params: S.IdParams, body: S.GroupBody, response: { 200: S.Group, ...S.errors } },
  }, async (r) => {
    const id = (r.params as { id: string }).id;
    const cur = await p.store.getGroup(id);
    if (!cur) throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such group');
    const g = groupOf(r.body as never, id, cur.createdBy, cur.createdAt);
    await p.store.putGroup(g);
    await p.audit('group.update', me(r).userId, id, 'success', { name: g.name, tags: g.tags, windows: g.windows.length });
    return g;
  });
  app.delete('/api/v1/groups/:id', {
    config: { permission: 'admin' },
    schema: { tags: groupTags, summary: 'Delete a group', params: S.IdParams, response: { 200: S.Ok, ...S.errors } },
  }, async (r) => {
    const id = (r.params as { id: string }).id;
    if (!(await p.store.deleteGroup(id))) throw new LucidError('FLEET_ERR_NOT_FOUND', 'no such group');
    await p.audit('group.delete', me(r).userId, id, 'success');
    return { ok: true };
  });
};
