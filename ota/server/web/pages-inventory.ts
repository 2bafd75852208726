// Devices (filter by name, state, health; version, health, online/offline, last seen, tags),
// groups (static or dynamic by tags/version/arch, production tag) and enrollment tokens.
import { call } from './api.js';
import type { FleetPage } from './page.js';
import { ago, button, field, h, messageLine, pill, row, table } from './ui.js';

interface Device {
  id: string; name: string; tags: string[]; lastSeenAt: number; online: boolean;
  status: { version: string; arch: string; slot: string | null; health: string; reasons: string[]; lastUpdate: { version: string; outcome: string; reason: string } | null };
}
interface Group { id: string; name: string; kind: string; tags: string[]; filter: { tags?: string[]; version?: string; arch?: string } | null; members: string[] }

export const devicesPage: FleetPage = {
  path: '/devices', title: 'Devices',
  async render(main, poll) {
    const msg = messageLine();
    const search = h('input', { type: 'search', placeholder: 'name or id', 'data-testid': 'device-search' });
    const state = h('select', { 'data-testid': 'device-state' }, h('option', { value: '' }, 'any'), h('option', { value: 'online' }, 'online'), h('option', { value: 'offline' }, 'offline'));
    const health = h('select', { 'data-testid': 'device-health' }, ...['', 'ok', 'degraded', 'failed'].map((x) => h('option', { value: x }, x || 'any')));
    const list = h('div');
    const draw = async (): Promise<void> => {
      const q = new URLSearchParams();
      if (search.value) q.set('search', search.value);
      if (state.value) q.set('state', state.value);
      if (health.value) q.set('health', health.value);
      try {
        const devices = await call<Device[]>('GET', `/api/v1/devices?${q}`);
        list.replaceChildren(table('devices-table', ['Device', 'Version', 'Health', 'State', 'Last seen', 'Last update', 'Tags'], devices.map((d) => row(
          { 'data-device': d.id, 'data-online': String(d.online) },
          h('span', null, d.name, h('br'), h('code', { class: 'muted' }, d.id.slice(0, 12))),
          h('code', null, d.status.version),
          h('span', null, pill(d.status.health), ...d.status.reasons.slice(0, 2).map((r) => h('div', { class: 'reason' }, r))),
          pill(d.online ? 'online' : 'offline'),
          ago(d.lastSeenAt),
          d.status.lastUpdate ? h('span', null, `${d.status.lastUpdate.version}: `, pill(d.status.lastUpdate.outcome), h('div', { class: 'muted' }, d.status.lastUpdate.reason)) : '—',
          d.tags.join(', ') || '—',
        )), 'No devices match.'));
      } catch (e) { msg.show(e); }
    };
    for (const el of [search, state, health]) el.addEventListener('change', () => void draw());
    main.replaceChildren(h('h1', null, 'Devices'), h('div', { class: 'card' }, h('div', { class: 'row' }, field('Search', search), field('State', state), field('Health', health)), msg.el, list));
    await draw();
    poll(draw, 5000);
  },
};

function groupForm(onDone: () => Promise<void>): HTMLElement {
  const msg = messageLine();
  const name = h('input', { name: 'name', required: true, 'data-testid': 'group-name' });
  const kind = h('select', { 'data-testid': 'group-kind' }, h('option', { value: 'dynamic' }, 'dynamic (filter)'), h('option', { value: 'static' }, 'static (device ids)'));
  const filter = h('input', { placeholder: 'tags, comma separated (dynamic) or device ids (static)', 'data-testid': 'group-filter' });
  const version = h('input', { placeholder: 'version (optional)', 'data-testid': 'group-version' });
  const tags = h('input', { placeholder: 'e.g. production', 'data-testid': 'group-tags' });
  const list = (s: string): string[] => s.split(/[\s,]+/).filter(Boolean);
  const create = button('Create group', 'group-create', async () => {
    const body = kind.value === 'static'
      ? { name: name.value, kind: 'static', members: list(filter.value), tags: list(tags.value) }
      : { name: name.value, kind: 'dynamic', filter: { tags: list(filter.value), ...(version.value ? { version: version.value } : {}) }, tags: list(tags.value) };
    try {
      await call('POST', '/api/v1/groups', body);
      msg.ok(`Group ${name.value} created.`);
      await onDone();
    } catch (e) { msg.show(e); }
  }, 'primary');
  return h('div', { class: 'card' }, h('h2', null, 'New group'), h('div', { class: 'row' }, field('Name', name), field('Kind', kind), field('Members / filter', filter), field('Version', version), field('Group tags', tags), create), msg.el);
}

export const groupsPage: FleetPage = {
  path: '/groups', title: 'Groups',
  async render(main) {
    const msg = messageLine();
    const list = h('div');
    const tokenOut = h('p', { 'data-testid': 'enroll-token' });
    const tokenTags = h('input', { placeholder: 'tags the device starts with', 'data-testid': 'enroll-tags' });
    const draw = async (): Promise<void> => {
      try {
        const groups = await call<Group[]>('GET', '/api/v1/groups');
        list.replaceChildren(table('groups-table', ['Group', 'Kind', 'Members / filter', 'Tags'], groups.map((g) => row(
          { 'data-group': g.id },
          g.name, g.kind,
          g.kind === 'static' ? `${g.members.length} devices` : Object.entries(g.filter ?? {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; '),
          h('span', null, ...g.tags.map((t) => pill(t))),
        ))));
      } catch (e) { msg.show(e); }
    };
    const token = button('Make enrollment token', 'enroll-make', async () => {
      try {
        const t = await call<{ token: string; expiresAt: number }>('POST', '/api/v1/enrollment-tokens', { tags: tokenTags.value.split(/[\s,]+/).filter(Boolean) });
        const pin = t.token.includes('.') ? t.token.slice(t.token.indexOf('.') + 1) : '';
        tokenOut.replaceChildren('Give the appliance LUCID_FLEET_URL=', h('code', null, location.origin), ' and LUCID_FLEET_TOKEN=', h('code', { 'data-testid': 'enroll-token-value' }, t.token),
          ` (single use, shown once; expires ${new Date(t.expiresAt).toISOString().slice(0, 16)}). `,
          h('span', { 'data-testid': 'enroll-token-pin' }, 'The token carries this fleet\'s certificate pin after its dot (', h('code', null, pin),
            ', the SHA-256 of the certificate\'s public key): the appliance sends the token only to a server with this key, and checks that key on every later connection.'));
      } catch (e) { msg.show(e); }
    });
    main.replaceChildren(h('h1', null, 'Groups and enrollment'), h('div', { class: 'card' }, msg.el, list), groupForm(draw),
      h('div', { class: 'card' }, h('h2', null, 'Enroll a device'), h('div', { class: 'row' }, field('Tags', tokenTags), token), tokenOut));
    await draw();
  },
};
