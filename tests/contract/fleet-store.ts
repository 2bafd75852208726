// The fleet store's contract: one suite, run against every implementation (LevelDB and
// PostgreSQL, fleet-store.test.ts). Every atomic operation is also fired N times in parallel and
// must end as N sequential calls would: exactly one winner where one is allowed.
import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, auditHash } from '../../ota/server/store/common.js';
import type { DeviceRecord, FleetStore, FleetUser, MemberState, RolloutRecord } from '../../ota/server/store/types.js';

/** `reopen` stops the store and opens the same data again (a restart). */
export type StoreFactory = () => Promise<{ store: FleetStore; close: () => Promise<void>; reopen: () => Promise<FleetStore> }>;

const N = 12;
const user = (id: string, username = id): FleetUser => ({
  id, username, role: 'admin', passwordHash: 'x', wallets: [], createdAt: 1, createdBy: null, roleChangedBy: null, roleChangedAt: 1,
  roleApprovedBy: null, credentialsChangedBy: null, credentialsChangedAt: 1, failedLogins: 0, lockedUntil: 0, rev: 0,
});
export const testDevice = (id: string, extra: Partial<DeviceRecord> = {}): DeviceRecord => ({
  id, publicKey: `pk-${id}`, name: `dev ${id}`, tags: ['lab'], enrolledAt: 1, lastSeenAt: 1000, lastSeq: 0,
  status: { version: '1.0.0', arch: 'amd64', slot: 'a', health: 'ok', reasons: [], lastUpdate: null, freeDiskBytes: 1e9 }, ...extra,
});
export const testRollout = (id: string, extra: Partial<RolloutRecord> = {}): RolloutRecord => ({
  id, releaseId: 'stable@2.0.0', channel: 'stable', version: '2.0.0', releaseSha256: 'ab'.repeat(32), groupId: 'g1', groupName: 'all', production: false,
  stages: [{ count: 1, soakS: 0, maxFailures: 0, maxFailureRate: null }, { percent: 100, soakS: 0, maxFailures: 0, maxFailureRate: null }],
  stageEnds: [1, 4], total: 0, rollbackOnHalt: true, state: 'running', stage: 0, history: [], attempt: 0, reason: null,
  createdBy: 'u1', createdAt: 10, updatedAt: 10, rev: 0, ...extra,
});
const ones = <T>(xs: readonly T[], pred: (x: T) => boolean): number => xs.filter(pred).length;

export function fleetStoreContract(name: string, factory: StoreFactory): void {
  describe(`fleet store contract: ${name}`, () => {
    const withStore = (fn: (s: FleetStore) => Promise<void>) => async () => {
      const { store, close } = await factory();
      try { await fn(store); } finally { await close(); }
    };

    it('metaOnce: the first value wins for every parallel caller', withStore(async (s) => {
      const got = await Promise.all(Array.from({ length: N }, (_, i) => s.metaOnce('k', () => `v${i}`)));
      expect(new Set(got).size).toBe(1);
      expect(await s.metaOnce('k', () => 'late')).toBe(got[0]);
    }));

    it('users: first-user set-up once under concurrency, unique names, compare-and-set', withStore(async (s) => {
      const firsts = await Promise.all(Array.from({ length: N }, (_, i) => s.createUser(user(`u${i}`), { firstOnly: true })));
      expect(ones(firsts, Boolean)).toBe(1);
      expect(await s.listUsers()).toHaveLength(1);
      expect(await s.createUser(user('x1', 'bob'))).toBe(true);
      expect(await s.createUser(user('x2', 'bob'))).toBe(false);
      expect((await s.getUserByName('bob'))?.id).toBe('x1');
      const bob = (await s.getUser('x1'))!;
      const cas = await Promise.all(Array.from({ length: N }, (_, i) => s.casUser({ ...bob, failedLogins: i + 1 }, bob.rev)));
      expect(ones(cas, Boolean)).toBe(1);
      expect((await s.getUser('x1'))!.rev).toBe(bob.rev + 1);
    }));

    it('refresh families: one of N parallel spends rotates, the rest are reuse and revoke the family', withStore(async (s) => {
      await s.putFamily({ id: 'f1', userId: 'u1', jti: 'j0', expiresAt: 9e12, revoked: false });
      const got = await Promise.all(Array.from({ length: N }, (_, i) => s.spendFamily('f1', 'j0', `j${i + 1}`, 9e12)));
      expect(ones(got, (g) => g === 'ok')).toBe(1);
      expect(ones(got, (g) => g === 'reuse')).toBeGreaterThanOrEqual(1);
      expect((await s.getFamily('f1'))!.revoked).toBe(true);
      expect(await s.spendFamily('f1', 'j1', 'j9', 9e12)).toBe('gone');
      await s.putFamily({ id: 'f2', userId: 'u2', jti: 'a', expiresAt: 9e12, revoked: false });
      await s.revokeFamilies('u2');
      expect((await s.getFamily('f2'))!.revoked).toBe(true);
    }));

    it('enrollment tokens are spent once; expired ones not at all', withStore(async (s) => {
      await s.putToken({ hash: 'h1', id: 't1', createdBy: 'u1', createdAt: 1, expiresAt: 5000, tags: ['a'], usedBy: null, usedAt: null });
      const got = await Promise.all(Array.from({ length: N }, (_, i) => s.spendToken('h1', `d${i}`, 100)));
      expect(ones(got, (g) => g !== null)).toBe(1);
      expect((await s.listTokens())[0]!.usedBy).toBe(got.find((g) => g)!.usedBy);
      await s.putToken({ hash: 'h2', id: 't2', createdBy: 'u1', createdAt: 1, expiresAt: 50, tags: [], usedBy: null, usedAt: null });
      expect(await s.spendToken('h2', 'd', 100)).toBeNull();
      expect(await s.spendToken('nope', 'd', 1)).toBeNull();
    }));

    it('devices: enrollment keeps the first key, check-ins refuse replays atomically', withStore(async (s) => {
      expect(await s.enrollDevice(testDevice('d1'))).toBe(true);
      expect(await s.enrollDevice(testDevice('d1'))).toBe(true);
      expect(await s.enrollDevice(testDevice('d1', { publicKey: 'other' }))).toBe(false);
      expect((await s.checkin('zz', 1, null, 5)).kind).toBe('unknown');
      const status = { ...testDevice('d1').status, version: '1.1.0' };
      const got = await Promise.all(Array.from({ length: N }, () => s.checkin('d1', 7, status, 2000)));
      expect(ones(got, (g) => g.kind === 'ok')).toBe(1);
      expect(got.filter((g) => g.kind === 'replay').every((g) => g.kind === 'replay' && g.lastSeq === 7)).toBe(true);
      const d = (await s.getDevice('d1'))!;
      expect([d.lastSeq, d.lastSeenAt, d.status.version]).toEqual([7, 2000, '1.1.0']);
      expect((await s.checkin('d1', 6, null, 3000)).kind).toBe('replay');
      const ok = await s.checkin('d1', 8, null, 3000);
      expect(ok.kind === 'ok' && ok.device.status.version === '1.1.0' && ok.membership === null).toBe(true);
    }));

    it('devices: one device\'s check-ins sent at once get what they would get one after another, beside other devices\' check-ins', withStore(async (s) => {
      for (let i = 0; i < 50; i++) await s.enrollDevice(testDevice(`o${i}`));
      const seqs = [1, 2, 5, 3, 5, 6, 4, 7];
      const mine = seqs.map((q) => s.checkin('o0', q, null, 100 + q));
      const others = Array.from({ length: 49 }, (_, i) => s.checkin(`o${i + 1}`, 1, null, 100));
      const late = s.checkin('nobody', 1, null, 100);
      const got = await Promise.all(mine);
      expect(got.map((g) => (g.kind === 'ok' ? `ok ${g.device.lastSeq}` : g.kind === 'replay' ? `replay ${g.lastSeq}` : g.kind)))
        .toEqual(['ok 1', 'ok 2', 'ok 5', 'replay 5', 'replay 5', 'ok 6', 'replay 6', 'ok 7']);
      expect((await Promise.all(others)).every((g) => g.kind === 'ok' && g.device.lastSeq === 1)).toBe(true);
      expect((await late).kind).toBe('unknown');
      expect([(await s.getDevice('o0'))!.lastSeq, (await s.getDevice('o0'))!.lastSeenAt]).toEqual([7, 107]);
    }));

    it('devices: many check-ins at once with a tag change and a delete among them are all there after a restart', async () => {
      const { store: s, close, reopen } = await factory();
      try {
        for (let i = 0; i < 300; i++) await s.enrollDevice(testDevice(`d${i}`));
        const status = { ...testDevice('x').status, version: '1.1.0' };
        const ops: Array<Promise<unknown>> = Array.from({ length: 300 }, (_, i) => s.checkin(`d${i}`, 1, status, 5000));
        ops.splice(100, 0, s.setDeviceTags('d0', ['moved']), s.deleteDevice('d1'));
        ops.push(s.checkin('d2', 2, { ...status, version: '1.2.0' }, 6000));
        await Promise.all(ops);
        const again = await reopen();
        const d0 = (await again.getDevice('d0'))!;
        expect([d0.tags, d0.lastSeq, d0.status.version]).toEqual([['moved'], 1, '1.1.0']);
        expect(await again.getDevice('d1')).toBeNull();
        const d2 = (await again.getDevice('d2'))!;
        expect([d2.lastSeq, d2.lastSeenAt, d2.status.version]).toEqual([2, 6000, '1.2.0']);
        const rest = await again.listDevices({ limit: 1000 });
        expect(rest).toHaveLength(299);
        expect(rest.filter((d) => d.id !== 'd2').every((d) => d.lastSeq === 1 && d.lastSeenAt === 5000 && d.status.version === '1.1.0')).toBe(true);
        expect((await again.checkin('d5', 1, null, 7000)).kind).toBe('replay');
      } finally {
        await close();
      }
    });

    it('devices: bulk import keeps existing ones', withStore(async (s) => {
      await s.enrollDevice(testDevice('d1', { name: 'first' }));
      expect(await s.importDevices(Array.from({ length: 7000 }, (_, i) => testDevice(`d${i}`, { tags: ['bulk', 'lab'] })))).toBe(6999);
      expect((await s.getDevice('d1'))!.name).toBe('first');
      expect((await s.getDevice('d6999'))!.tags).toEqual(['bulk', 'lab']);
      expect((await s.listDevices({ tag: 'bulk', limit: 10_000 })).length).toBe(6999);
    }));

    it('devices: queries, counts, tags, delete', withStore(async (s) => {
      for (let i = 0; i < 6; i++) await s.enrollDevice(testDevice(`d${i}`, { tags: i % 2 ? ['odd', 'lab'] : ['lab'], lastSeenAt: i * 100, status: { ...testDevice('x').status, version: i < 3 ? '1.0.0' : '2.0.0' } }));
      expect((await s.listDevices({ tag: 'odd' })).map((d) => d.id)).toEqual(['d1', 'd3', 'd5']);
      expect((await s.listDevices({ version: '2.0.0', tag: 'odd' })).map((d) => d.id)).toEqual(['d3', 'd5']);
      expect((await s.listDevices({ offlineBefore: 250 })).map((d) => d.id)).toEqual(['d0', 'd1', 'd2']);
      expect((await s.listDevices({ limit: 2, after: 'd2' })).map((d) => d.id)).toEqual(['d3', 'd4']);
      const c = await s.countDevices(250);
      expect([c.total, c.offline, c.byVersion['2.0.0']]).toEqual([6, 3, 3]);
      expect((await s.setDeviceTags('d0', ['x']))!.tags).toEqual(['x']);
      expect(await s.deleteDevice('d0')).toBe(true);
      expect(await s.getDevice('d0')).toBeNull();
    }));

    it('groups: unique names', withStore(async (s) => {
      const g = { id: 'g1', name: 'lab', kind: 'dynamic' as const, members: [], filter: { tags: ['lab'] }, tags: [], windows: [], createdAt: 1, createdBy: 'u' };
      const got = await Promise.all(Array.from({ length: 4 }, (_, i) => s.createGroup({ ...g, id: `g${i}` })));
      expect(ones(got, Boolean)).toBe(1);
      const id = (await s.listGroups())[0]!.id;
      await s.putGroup({ ...g, id, tags: ['production'] });
      expect((await s.getGroup(id))!.tags).toEqual(['production']);
      expect(await s.deleteGroup(id)).toBe(true);
      expect(await s.listGroups()).toEqual([]);
    }));

    it('channels: sync only moves forward; the current release follows', withStore(async (s) => {
      expect(await s.createChannel({ name: 'stable', repositoryUrl: 'http://x', tufChannel: 'stable', rootJson: '{}', createdAt: 1, createdBy: 'u', lastSync: null })).toBe(true);
      expect(await s.createChannel({ name: 'stable', repositoryUrl: 'http://y', tufChannel: 'stable', rootJson: '{}', createdAt: 1, createdBy: 'u', lastSync: null })).toBe(false);
      const rel = (v: string) => ({ id: `stable@${v}`, channel: 'stable', version: v, sha256: v, minVersion: '0.0.0', architectures: ['amd64'], downloadBytes: 1, created: 'x', seenAt: 5, current: true });
      const files = new Map([['metadata/timestamp.json', Buffer.from('t2')]]);
      expect(await s.syncChannel('stable', files, rel('1.0.0'), { at: 5, ok: true, error: null, timestampVersion: 2 })).toBe(true);
      expect(await s.syncChannel('stable', new Map([['metadata/timestamp.json', Buffer.from('old')]]), rel('0.9.0'), { at: 6, ok: true, error: null, timestampVersion: 2 })).toBe(false);
      expect((await s.getTufFile('stable', 'metadata/timestamp.json'))!.toString()).toBe('t2');
      expect(await s.syncChannel('stable', new Map([['metadata/3.snapshot.json', Buffer.from([0, 1, 255])]]), rel('2.0.0'), { at: 7, ok: true, error: null, timestampVersion: 3 })).toBe(true);
      expect(await s.getTufFile('stable', 'metadata/timestamp.json')).toBeNull();
      expect([...(await s.getTufFile('stable', 'metadata/3.snapshot.json'))!]).toEqual([0, 1, 255]);
      expect((await s.listReleases('stable')).map((r) => [r.version, r.current]).sort()).toEqual([['1.0.0', false], ['2.0.0', true]]);
      await s.noteSyncFailure('stable', { at: 9, ok: false, error: 'boom', timestampVersion: 0 });
      expect((await s.getChannel('stable'))!.lastSync).toMatchObject({ ok: false, error: 'boom', timestampVersion: 3 });
    }));

    it('rollouts: parallel creations over the same devices claim each device once', withStore(async (s) => {
      const ids = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}`);
      for (const id of ids) await s.enrollDevice(testDevice(id));
      const got = await Promise.all(Array.from({ length: 4 }, (_, i) => s.createRollout(testRollout(`r${i}`), [...ids, 'ghost'])));
      expect(got.reduce((a, g) => a + g.claimed, 0)).toBe(20);
      const owners = new Map<string, string>();
      for (let i = 0; i < 4; i++) {
        const members = await s.listMembers(`r${i}`, { limit: 100 });
        expect(members.map((m) => m.ord)).toEqual(members.map((_, k) => k));
        expect((await s.getRollout(`r${i}`))!.total).toBe(members.length);
        for (const m of members) { expect(owners.has(m.deviceId)).toBe(false); owners.set(m.deviceId, m.rolloutId); }
      }
      expect(owners.size).toBe(20);
      const one = (await s.checkin('d00', 1, null, 2000));
      expect(one.kind === 'ok' && one.membership?.rollout.id).toBe(owners.get('d00'));
    }));

    it('rollouts: compare-and-set lets exactly one of N parallel advances through; claims are released', withStore(async (s) => {
      for (const id of ['a', 'b', 'c']) await s.enrollDevice(testDevice(id));
      await s.createRollout(testRollout('r1'), ['a', 'b', 'c']);
      const r = (await s.getRollout('r1'))!;
      const got = await Promise.all(Array.from({ length: N }, (_, i) => s.casRollout({ ...r, stage: 1, reason: `i${i}` }, r.rev)));
      expect(ones(got, Boolean)).toBe(1);
      const after = (await s.getRollout('r1'))!;
      expect([after.stage, after.rev]).toEqual([1, r.rev + 1]);
      expect(await s.updateMember('r1', 'a', ['waiting'], { state: 'healthy' }, 50)).not.toBeNull();
      expect(await s.casRollout({ ...after, state: 'completed' }, after.rev, ['healthy'])).toBe(true);
      const a = await s.checkin('a', 1, null, 60);
      const b = await s.checkin('b', 1, null, 60);
      expect(a.kind === 'ok' && a.membership).toBeNull();
      expect(b.kind === 'ok' && b.membership?.member.state).toBe('waiting');
      const fin = (await s.getRollout('r1'))!;
      expect(await s.casRollout({ ...fin, state: 'aborted' }, fin.rev, 'all')).toBe(true);
      const b2 = await s.checkin('b', 2, null, 70);
      expect(b2.kind === 'ok' && b2.membership).toBeNull();
      // Released devices can be claimed again.
      expect((await s.createRollout(testRollout('r2'), ['a', 'b', 'c'])).claimed).toBe(3);
    }));

    it('members: transitions only from the named states, under concurrency; reset; stage counts', withStore(async (s) => {
      for (const id of ['a', 'b', 'c', 'd']) await s.enrollDevice(testDevice(id, { lastSeenAt: id === 'd' ? 10 : 5000 }));
      await s.createRollout(testRollout('r1'), ['a', 'b', 'c', 'd']);
      const got = await Promise.all(Array.from({ length: N }, () => s.updateMember('r1', 'a', ['waiting', 'assigned'], { state: 'downloading' }, 100)));
      expect(ones(got, (g) => g !== null)).toBe(1);
      expect(await s.updateMember('r1', 'a', ['waiting'], { state: 'failed' }, 101)).toBeNull();
      expect((await s.updateMember('r1', 'b', null, { state: 'committed', committedAt: 150, reason: 'ok' }, 150))!.committedAt).toBe(150);
      await s.updateMember('r1', 'c', null, { state: 'failed', reason: 'health gate' }, 160);
      const counts = await s.stageCounts('r1', 0, 4, 1000);
      expect(counts.total).toBe(4);
      expect(counts.online).toEqual({ downloading: 1, committed: 1, failed: 1 });
      expect(counts.offline).toEqual({ waiting: 1 });
      expect((await s.stageCounts('r1', 1, 3, 1000)).total).toBe(2);
      expect(await s.resetMembers('r1', 0, 4, ['failed', 'rolled-back'], 'waiting', 1, 200)).toBe(1);
      const c = (await s.getMember('r1', 'c'))!;
      expect([c.state, c.attempt, c.reason]).toEqual(['waiting', 1, null]);
      expect((await s.listMembers('r1', { states: ['committed'] })).map((m) => m.deviceId)).toEqual(['b']);
      await s.updateMember('r1', 'b', ['committed'], { state: 'healthy' }, 300, true);
      const b = await s.checkin('b', 1, null, 400);
      expect(b.kind === 'ok' && b.membership).toBeNull();
    }));

    it('members: one member\'s transitions sent at once get what they would one after another, beside other members\'', withStore(async (s) => {
      const ids = Array.from({ length: 30 }, (_, i) => `m${i}`);
      for (const id of ids) await s.enrollDevice(testDevice(id));
      await s.createRollout(testRollout('r1'), ids);
      const steps: Array<[readonly MemberState[] | null, Parameters<FleetStore['updateMember']>[3], boolean]> = [
        [['waiting'], { state: 'assigned' }, false],
        [['assigned'], { state: 'downloading', reason: 'fetching' }, false],
        [['downloading'], { state: 'trial' }, false],
        [['trial'], { state: 'committed', committedAt: 500 }, false],
        [['trial'], { state: 'healthy' }, false], // no longer on trial: refused
        [['committed'], { state: 'healthy', reason: null }, true],
      ];
      const mine = steps.map(([from, patch, release], i) => s.updateMember('r1', 'm0', from, patch, 100 + i, release));
      const others = ids.slice(1).map((id, i) => s.updateMember('r1', id, ['waiting'], { state: 'failed', reason: `r${i}` }, 100));
      const got = await Promise.all(mine);
      expect(got.map((m) => m?.state ?? null)).toEqual(['assigned', 'downloading', 'trial', 'committed', null, 'healthy']);
      expect(got[1]!.reason).toBe('fetching');
      const m0 = (await s.getMember('r1', 'm0'))!;
      expect([m0.state, m0.reason, m0.committedAt, m0.updatedAt]).toEqual(['healthy', null, 500, 105]);
      expect((await Promise.all(others)).every((m, i) => m?.state === 'failed' && m.reason === `r${i}`)).toBe(true);
      const c = await s.checkin('m0', 1, null, 600);
      expect(c.kind === 'ok' && c.membership).toBeNull(); // released with its last transition
      const c1 = await s.checkin('m1', 1, null, 600);
      expect(c1.kind === 'ok' && c1.membership?.member.state).toBe('failed');
    }));

    it('approvals: exactly one of N parallel takes gets the request', withStore(async (s) => {
      await s.putApproval({ id: 'a1', kind: 'rollout.start', params: { rolloutId: 'r' }, requestedBy: { id: 'u', username: 'u', role: 'admin' }, reason: 'go', createdAt: 1, expiresAt: 9e12 });
      expect((await s.listApprovals()).map((a) => a.id)).toEqual(['a1']);
      const got = await Promise.all(Array.from({ length: N }, () => s.takeApproval('a1')));
      expect(ones(got, (g) => g !== null)).toBe(1);
      expect(await s.getApproval('a1')).toBeNull();
    }));

    it('audit: parallel appends make one unbroken hash chain', withStore(async (s) => {
      await Promise.all(Array.from({ length: N }, (_, i) => s.appendAudit({ at: i, actor: 'u', action: 'x', target: null, outcome: 'success', details: { i } })));
      const all = (await s.listAudit({ limit: 100 })).reverse();
      expect(all.map((a) => a.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      let prev = AUDIT_GENESIS;
      for (const a of all) {
        expect(a.prevHash).toBe(prev);
        const { seq, prevHash: _p, hash, ...input } = a;
        expect(hash).toBe(auditHash(prev, seq, input));
        prev = hash;
      }
      expect((await s.listAudit({ limit: 3, before: 5 })).map((a) => a.seq)).toEqual([4, 3, 2]);
    }));
  });
}
