// Releases (channels mirrored from TUF repositories), rollouts (create with stages, list) and one
// rollout: per-stage progress, the failures with their reasons, pause/resume/abort/retry/advance.
import { call } from './api.js';
import type { FleetPage } from './page.js';
import { ago, button, field, h, messageLine, pill, row, stageBar, table } from './ui.js';

interface Release { id: string; channel: string; version: string; current: boolean; seenAt?: number }
interface Channel { name: string; repositoryUrl: string; tufChannel: string; lastSync?: { at: number; ok: boolean; error?: string } | null }
interface Rollout { id: string; state: string; stage: number; version: string; total: number; groupName: string; releaseId: string; reason: string | null; stageEnds: number[]; createdAt: number; production: boolean }
interface Stage { stage: number; devices: number; states: Record<string, number>; offline: number; spec: { count?: number; percent?: number; soakS: number; maxFailures: number }; startedAt: number | null; endedAt: number | null; how: string | null }
interface Failure { deviceId: string; state: string; reason: string | null; stage: number; at: number }

export const releasesPage: FleetPage = {
  path: '/releases', title: 'Releases',
  async render(main) {
    const msg = messageLine();
    const body = h('div');
    const draw = async (): Promise<void> => {
      try {
        const [channels, releases] = await Promise.all([call<Channel[]>('GET', '/api/v1/channels'), call<Release[]>('GET', '/api/v1/releases')]);
        body.replaceChildren(
          h('h2', null, 'Channels'),
          table('channels-table', ['Channel', 'Repository', 'Last sync', ''], channels.map((c) => row({ 'data-channel': c.name },
            c.name, h('code', null, c.repositoryUrl), c.lastSync ? h('span', null, pill(c.lastSync.ok ? 'ok' : 'failed'), ` ${ago(c.lastSync.at)} `, c.lastSync.error ?? '') : '—',
            button('Sync now', `sync-${c.name}`, async () => { try { await call('POST', `/api/v1/channels/${c.name}/sync`); await draw(); } catch (e) { msg.show(e); } }),
          ))),
          h('h2', null, 'Releases (TUF-signed)'),
          table('releases-table', ['Release', 'Channel', 'Version', ''], releases.map((r) => row({ 'data-release': r.id }, h('code', null, r.id), r.channel, r.version, r.current ? pill('current') : ''))),
        );
      } catch (e) { msg.show(e); }
    };
    const name = h('input', { placeholder: 'stable', 'data-testid': 'channel-name' });
    const url = h('input', { placeholder: 'https://releases.example/repo', 'data-testid': 'channel-url' });
    const root = h('textarea', { rows: 3, placeholder: 'root.json the devices ship', 'data-testid': 'channel-root' });
    const add = button('Add channel', 'channel-add', async () => {
      try { await call('POST', '/api/v1/channels', { name: name.value, repositoryUrl: url.value, rootJson: root.value }); msg.ok('Channel added.'); await draw(); } catch (e) { msg.show(e); }
    }, 'primary');
    main.replaceChildren(h('h1', null, 'Releases'), h('div', { class: 'card' }, msg.el, body),
      h('div', { class: 'card' }, h('h2', null, 'Add a channel'), h('div', { class: 'row' }, field('Name', name), field('Repository', url), field('Pinned root.json', root), add)));
    await draw();
  },
};

/** "1, 10%, 50%, 100%" → stage specs (a bare number is a device count, n% a share of the group). */
export function parseStages(text: string, soakS: number, maxFailures: number): Array<Record<string, number>> {
  return text.split(/[\s,→>]+/).filter(Boolean).map((s): Record<string, number> => {
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
    if (pct) return { percent: Number(pct[1]), soakS, maxFailures };
    if (/^\d+$/.test(s)) return { count: Number(s), soakS, maxFailures };
    throw new Error(`stage "${s}": a device count (1) or a share (10%)`);
  });
}

function createForm(onDone: (id: string) => void): HTMLElement {
  const msg = messageLine();
  const release = h('select', { 'data-testid': 'rollout-release' });
  const group = h('select', { 'data-testid': 'rollout-group' });
  const stages = h('input', { value: '1, 10%, 50%, 100%', 'data-testid': 'rollout-stages' });
  const soak = h('input', { type: 'number', min: 0, value: 600, 'data-testid': 'rollout-soak' });
  const maxFail = h('input', { type: 'number', min: 0, value: 0, 'data-testid': 'rollout-maxfail' });
  const rollback = h('input', { type: 'checkbox', checked: true, 'data-testid': 'rollout-rollback' });
  void Promise.all([call<Release[]>('GET', '/api/v1/releases'), call<Array<{ id: string; name: string; tags: string[] }>>('GET', '/api/v1/groups')]).then(([rs, gs]) => {
    release.replaceChildren(...rs.map((r) => h('option', { value: r.id }, `${r.id}${r.current ? ' (current)' : ''}`)));
    group.replaceChildren(...gs.map((g) => h('option', { value: g.id }, `${g.name}${g.tags.length ? ` [${g.tags.join(', ')}]` : ''}`)));
  }, (e: unknown) => msg.show(e));
  const start = button('Start rollout', 'rollout-start', async () => {
    try {
      const body = { releaseId: release.value, groupId: group.value, stages: parseStages(stages.value, Number(soak.value), Number(maxFail.value)), rollbackOnHalt: rollback.checked };
      const out = await call<{ rollout: Rollout; approvalId: string | null; skipped: number }>('POST', '/api/v1/rollouts', body);
      msg.ok(out.approvalId ? 'Production group: waiting for a second admin\'s approval.' : `Rollout started (${out.rollout.total} devices).`);
      onDone(out.rollout.id);
    } catch (e) { msg.show(e); }
  }, 'primary');
  return h('div', { class: 'card' }, h('h2', null, 'New rollout'),
    h('div', { class: 'row' }, field('Release', release), field('Group', group), field('Stages', stages), field('Soak (s)', soak), field('Failures allowed per stage', maxFail),
      h('label', { class: 'row' }, rollback, 'Roll back updated devices on halt'), start), msg.el);
}

export const rolloutsPage: FleetPage = {
  path: '/rollouts', title: 'Rollouts',
  async render(main, poll) {
    const msg = messageLine();
    const list = h('div');
    const draw = async (): Promise<void> => {
      try {
        const rs = await call<Rollout[]>('GET', '/api/v1/rollouts');
        list.replaceChildren(table('rollouts-table', ['Rollout', 'Release', 'Group', 'State', 'Stage', 'Created'], rs.map((r) => row({ 'data-rollout': r.id, 'data-state': r.state },
          h('a', { href: `#/rollouts/${r.id}` }, r.id), r.releaseId, r.groupName, h('span', null, pill(r.state), r.reason ? h('div', { class: 'reason' }, r.reason) : ''),
          `${r.stage + 1} of ${r.stageEnds.length}`, ago(r.createdAt)))));
      } catch (e) { msg.show(e); }
    };
    main.replaceChildren(h('h1', null, 'Rollouts'), createForm((id) => { location.hash = `#/rollouts/${id}`; }), h('div', { class: 'card' }, msg.el, list));
    await draw();
    poll(draw, 3000);
  },
};

const ACTIONS: Record<string, readonly string[]> = {
  running: ['pause', 'advance', 'abort'], paused: ['resume', 'advance', 'abort'], halted: ['retry', 'abort'], 'pending-approval': ['abort'],
};

export const rolloutPage: FleetPage = {
  path: '/rollouts/', title: 'Rollout', nav: false,
  async render(main, poll, id) {
    const msg = messageLine();
    const head = h('div');
    const body = h('div');
    const draw = async (): Promise<void> => {
      try {
        const d = await call<{ rollout: Rollout; stages: Stage[]; failures: Failure[] }>('GET', `/api/v1/rollouts/${encodeURIComponent(id ?? '')}`);
        const r = d.rollout;
        const act = (a: string) => button(a[0]!.toUpperCase() + a.slice(1), `rollout-${a}`, async () => {
          try { await call('POST', `/api/v1/rollouts/${r.id}/${a}`); msg.ok(`${a}: done.`); await draw(); } catch (e) { msg.show(e); }
        }, a === 'abort' ? 'danger' : '');
        head.replaceChildren(
          h('h1', null, `Rollout of ${r.releaseId} to ${r.groupName}`),
          h('div', { class: 'row' }, pill(r.state, 'rollout-state'), h('span', { class: 'muted' }, `stage ${r.stage + 1} of ${r.stageEnds.length} · ${r.total} devices${r.production ? ' · production' : ''}`)),
          r.reason ? h('div', { class: r.state === 'halted' ? 'banner' : 'muted', 'data-testid': 'rollout-reason' }, r.reason) : '',
          h('div', { class: 'row' }, ...(ACTIONS[r.state] ?? []).map(act)),
        );
        body.replaceChildren(
          h('h2', null, 'Stages'),
          table('stages-table', ['Stage', 'Devices', 'Progress', 'States', 'Offline', 'Started', 'Ended'], d.stages.map((s) => row({ 'data-stage': String(s.stage), 'data-current': String(s.stage === r.stage + 1) },
            s.spec.count ? `${s.stage}: ${s.spec.count} device${s.spec.count > 1 ? 's' : ''}` : `${s.stage}: ${s.spec.percent}%`,
            String(s.devices), stageBar(s.states, s.devices),
            Object.entries(s.states).map(([k, n]) => `${k} ${n}`).join(', ') || '—', String(s.offline),
            ago(s.startedAt), s.endedAt ? `${ago(s.endedAt)} (${s.how ?? ''})` : '—'))),
          h('h2', null, 'Failures'),
          table('failures-table', ['Device', 'Stage', 'State', 'Reason', 'When'], d.failures.map((f) => row({ 'data-device': f.deviceId },
            h('code', null, f.deviceId.slice(0, 12)), String(f.stage), pill(f.state), h('span', { class: 'reason' }, f.reason ?? ''), ago(f.at))), 'No failures.'),
        );
      } catch (e) { msg.show(e); }
    };
    main.replaceChildren(head, msg.el, h('div', { class: 'card' }, body));
    await draw();
    poll(draw, 2000);
  },
};
