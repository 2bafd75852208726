// What a power cut must not break, checked against the acknowledgements the workload recorded
// before the cut (workload.ts). Each check returns the problems it found (empty: all held).
//   checkAcks   through the API of the appliance that started on the cut's data: every
//               acknowledged session exists with at least its acknowledged bytes, a finalized one
//               is `completed`; with `deep`, each session is brought to `completed` (stop,
//               finalize), its manifest verified (every chunk re-read: hash, AEAD, root) and its
//               content downloaded and compared with the bytes sent; every acknowledged user exists
//               and its creation is in the audit trail; every logged-out token stays refused; the
//               audit chain verifies
//   checkChain  offline, from the data directory once the appliance is gone: every block seen
//               final before the cut is stored with the same hash, every stored commit signature
//               verifies, and no (key, height, round, step) is signed two ways across the sign
//               guard's records (from before and after the restart) and the stored commits
import { api, hashDownload, type Target } from '../../helpers/upload.js';
import { fetchOn, pastLimiter, targetOn, type Endpoint } from '../harness/appliance-api.js';
import { findDoubleSigns, guardRecords, storedSignatures } from '../../integration/ledger/guard-checks.js';
import type { SignRecord } from '../../../services/ledger/consensus/sign-guard.js';
import { sessionSha256, type Acks } from './workload.js';

export interface AckStats { sessions: number; ackedBytes: number; keptBytes: number; users: number; revoked: number; blocks: number }

const authed = (to: Endpoint, path: string, token: string, init: RequestInit = {}): Promise<Response> =>
  fetchOn(to)(path, { ...init, headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(120_000) });

async function untilCompleted(t: Target, id: string): Promise<any> {
  let s = (await api(t, 'GET', `/api/v1/sessions/${id}`)).json;
  if (s.state === 'recording' || s.state === 'paused') s = (await api(t, 'POST', `/api/v1/sessions/${id}/stop`)).json;
  if (s.state === 'stopped' || s.state === 'failed') s = (await api(t, 'POST', `/api/v1/sessions/${id}/finalize`)).json;
  for (let i = 0; i < 300 && s.state === 'processing'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = (await api(t, 'GET', `/api/v1/sessions/${id}`)).json;
  }
  return s;
}

/** `to`: the guest's pinned HTTPS (its forwards arrive on a LAN address), or a loopback appliance's URL. */
export async function checkAcks(to: Endpoint, token: string, acks: Acks, o: { deep: boolean }): Promise<{ problems: string[]; stats: AckStats }> {
  const problems: string[] = [];
  const t: Target = targetOn(to, async () => token);
  const stats: AckStats = { sessions: 0, ackedBytes: 0, keptBytes: 0, users: acks.users.length, revoked: acks.revoked.length, blocks: Object.keys(acks.blocks).length };
  const health = await fetchOn(to)('/healthz');
  if (health.status !== 200) problems.push(`/healthz ${health.status} ${await health.text()}`);
  for (const s of acks.sessions) {
    stats.sessions++;
    stats.ackedBytes += s.acked;
    const got = await api(t, 'GET', `/api/v1/sessions/${s.id}`);
    if (got.status !== 200) { problems.push(`session ${s.id} (created, ${s.acked} B acknowledged): ${got.status} ${JSON.stringify(got.json)}`); continue; }
    const rec = got.json;
    if (rec.received < s.acked) problems.push(`session ${s.id}: ${rec.received} B received < ${s.acked} B acknowledged`);
    if (s.finalized && rec.state !== 'completed') problems.push(`session ${s.id}: finalize was acknowledged, state is ${rec.state}`);
    if (rec.state === 'created' && s.acked === 0) continue; // never started: nothing to finalize
    const done = o.deep ? await untilCompleted(t, s.id) : rec;
    if (done.state !== 'completed') {
      if (o.deep || s.finalized) problems.push(`session ${s.id}: could not be completed (${done.state}, ${JSON.stringify(done.failure ?? done.error ?? null)})`);
      continue;
    }
    const v = await api(t, 'POST', `/api/v1/sessions/${s.id}/verify`);
    if (v.status !== 200 || v.json.ok !== true || v.json.rootMatches === false) problems.push(`session ${s.id}: manifest does not verify: ${JSON.stringify(v.json).slice(0, 400)}`);
    if (!o.deep) continue;
    const dl = await hashDownload(t, `/api/v1/sessions/${s.id}/content`);
    stats.keptBytes += dl.bytes;
    if (dl.status !== 200 || dl.error) problems.push(`session ${s.id}: download ${dl.status} ${dl.error ?? ''}`);
    else if (dl.bytes < s.acked) problems.push(`session ${s.id}: ${dl.bytes} B downloaded < ${s.acked} B acknowledged`);
    else if (dl.sha256 !== sessionSha256(s.key, dl.bytes)) problems.push(`session ${s.id}: the ${dl.bytes} B downloaded are not the bytes sent`);
  }
  // Users: every acknowledged creation exists, and is in the audit trail.
  const list = await api(t, 'GET', '/api/v1/users');
  const ids = new Set(((list.json?.users ?? []) as Array<{ id: string }>).map((u) => u.id));
  for (const u of acks.users) if (!ids.has(u.id)) problems.push(`user ${u.username} (${u.id}): creation acknowledged, user missing`);
  const audited = new Set<string>();
  for (let before: number | undefined, page = 0; page < 100; page++) {
    const q = await api(t, 'GET', `/api/v1/audit?action=user.create&outcome=success&limit=200${before !== undefined ? `&before=${before}` : ''}`);
    if (q.status !== 200) { problems.push(`audit query: ${q.status} ${JSON.stringify(q.json)}`); break; }
    for (const e of q.json.entries as Array<{ target: string }>) audited.add(e.target);
    if (q.json.next === null || q.json.next === undefined || q.json.entries.length === 0) break;
    before = q.json.next as number;
  }
  for (const u of acks.users) if (ids.has(u.id) && !audited.has(u.id)) problems.push(`user ${u.username}: no user.create entry in the audit trail`);
  // Logged out: the access token is refused, the refresh token does not rotate.
  // The newest 70 access tokens (with the 20 refreshes below under the limiter's 100 a minute per
  // address; a 429 is waited out, it says nothing about a token): older revocations were
  // checked after earlier cuts, durable since, and a later cut writes nothing near them. A long
  // run past 70 logouts would otherwise wait out the limiter at every check.
  for (const [i, r] of acks.revoked.entries()) {
    if (i < acks.revoked.length - 70) continue;
    const me = await pastLimiter(() => authed(to, '/api/v1/auth/me', r.accessToken));
    if (me.status !== 401) problems.push(`${r.username}: logged-out access token answered ${me.status} on /auth/me`);
    await me.body?.cancel();
    if (i < acks.revoked.length - 20) continue; // the newest 20 (the public rate tier allows 100 a minute)
    const rf = await pastLimiter(() => fetchOn(to)('/api/v1/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: r.refreshToken }) }));
    if (rf.status === 200) problems.push(`${r.username}: logged-out refresh token rotated`);
    await rf.body?.cancel();
  }
  const audit = await api(t, 'GET', '/api/v1/audit/verify');
  if (audit.status !== 200 || audit.json.ok !== true) problems.push(`audit chain: ${audit.status} ${JSON.stringify(audit.json)}`);
  return { problems, stats };
}

/** Offline: final blocks kept, commit signatures valid, no double sign. `guardBefore`: the sign log as the cut left it. */
export async function checkChain(dataDir: string, acks: Acks, nodeKey: string, chainId: string, guardBefore: readonly SignRecord[]): Promise<{ problems: string[]; height: number }> {
  const problems: string[] = [];
  const stored = await storedSignatures(dataDir, chainId);
  if (stored.badSignatures > 0) problems.push(`${stored.badSignatures} stored commit signatures do not verify`);
  const byHeight = new Map<number, Set<string>>();
  for (const s of stored.signatures) {
    const set = byHeight.get(s.height) ?? new Set<string>();
    set.add(s.blockHash.toString('hex'));
    byHeight.set(s.height, set);
  }
  for (const [h, hash] of Object.entries(acks.blocks)) {
    const height = Number(h);
    const seen = byHeight.get(height);
    if (!seen) problems.push(`block ${height} was final before the cut (${hash.slice(0, 12)}), no commit for it is stored (height ${stored.height})`);
    else if (!seen.has(hash) || seen.size !== 1) problems.push(`block ${height}: final as ${hash.slice(0, 12)} before the cut, stored commits for ${[...seen].map((x) => x.slice(0, 12)).join(', ')}`);
  }
  const records = [...guardBefore, ...guardRecords(dataDir)].map((r) => ({ ...r, key: nodeKey }));
  problems.push(...findDoubleSigns(records, stored.signatures, chainId).map((p) => `double sign: ${p}`));
  return { problems, height: stored.height };
}
