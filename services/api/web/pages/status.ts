// The status page: health, the status LED, system gauges, the supervised processes and (on
// simulated hardware) the button. Polls GET /api/v1/status every second while visible.
import { WEB_ERR_ABORTED, toApiError } from '../api.js';
import { createChildTable } from '../components/child-table.js';
import { createGauge, levelFor } from '../components/gauge.js';
import { createHealthBadge } from '../components/health-badge.js';
import { createLed } from '../components/led.js';
import { createSimButton, type SimButtonView } from '../components/sim-button.js';
import { createCertificateFacts } from '../components/certificate.js';
import { h, setAttr, setText } from '../dom.js';
import { bytes, clockTime, duration, percent, relative } from '../format.js';
import type { Page, PageContext } from '../page.js';
import { poll } from '../poller.js';
import type { Status, SystemStatus } from '../types.js';

export const POLL_INTERVAL_MS = 1000;

const THROTTLE_FLAGS = [
  ['underVoltage', 'Under-voltage'],
  ['frequencyCapped', 'Frequency capped'],
  ['throttled', 'Throttled'],
  ['softTempLimit', 'Soft temperature limit'],
] as const;

function section(id: string, title: string, ...children: Node[]): HTMLElement {
  return h('section', { class: 'section', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

function facts(rows: readonly [label: string, testId: string][]): { el: HTMLElement; values: Record<string, HTMLElement> } {
  const values: Record<string, HTMLElement> = {};
  const el = h('dl', { class: 'facts' });
  for (const [label, testId] of rows) {
    const dd = h('dd', { 'data-testid': testId }, '—');
    values[testId] = dd;
    el.append(h('div', null, h('dt', null, label), dd));
  }
  return { el, values };
}

function render(root: HTMLElement, ctx: PageContext): () => void {
  const updated = h('span', { class: 'muted small', 'data-testid': 'updated' }, 'Loading…');
  const health = createHealthBadge();
  const led = createLed();
  const device = facts([
    ['Version', 'version'], ['Node ID', 'node-id'], ['Public key', 'public-key'], ['Uptime', 'uptime'], ['Hardware', 'hal'],
    ['Core process', 'core'], ['Last button event', 'last-button-event'],
  ]);
  const gauges = {
    cpu: createGauge('cpu', 'CPU'),
    memory: createGauge('memory', 'Memory used'),
    temperature: createGauge('temperature', 'Temperature'),
    disk: createGauge('disk', 'Data disk free'),
  };
  const throttling = h('ul', { class: 'chips', 'data-testid': 'throttling', 'aria-label': 'Throttling flags' });
  const throttlingRow = h('div', { class: 'throttling', hidden: true }, h('h3', null, 'Power and throttling'), throttling);
  const children = createChildTable();
  const simSlot = h('div');
  const certificate = createCertificateFacts(ctx.api, ctx.signal);
  let sim: SimButtonView | null = null;

  const page = h('div', { class: 'page', 'data-stale': 'false' },
    h('div', { class: 'page-head' }, h('h1', null, 'Status'), updated),
    h('div', { class: 'grid top' },
      h('section', { class: 'card', 'aria-labelledby': 'health-title' }, h('h2', { id: 'health-title' }, 'Health'), health.el),
      h('section', { class: 'card', 'aria-labelledby': 'led-title' }, h('h2', { id: 'led-title' }, 'Status LED'), led.el),
      h('section', { class: 'card wide', 'aria-labelledby': 'device-title' }, h('h2', { id: 'device-title' }, 'Device'), device.el),
    ),
    section('system-title', 'System',
      h('div', { class: 'grid gauges' }, ...Object.values(gauges).map((g) => g.el)),
      throttlingRow),
    section('children-title', 'Processes', h('div', { class: 'card flush' }, children.el)),
    section('tls-title', 'HTTPS certificate', h('div', { class: 'card' }, certificate.el)),
    simSlot,
  );
  root.append(page);
  certificate.load().catch((err: unknown) => { if (toApiError(err).code !== WEB_ERR_ABORTED) ctx.connection.failed(toApiError(err)); });

  const updateSystem = (s: SystemStatus): void => {
    const load = s.loadavg ? s.loadavg.map((l) => l.toFixed(2)).join(' / ') : 'n/a';
    const cpuFraction = s.cpuPercent !== null ? s.cpuPercent / 100 : s.loadavg?.[0] !== undefined ? s.loadavg[0] / Math.max(1, s.cpuCount) : null;
    gauges.cpu.update({
      fraction: cpuFraction,
      // Without a CPU sample yet (first read) the 1-minute load is the best single number.
      value: s.cpuPercent !== null ? percent(s.cpuPercent / 100) : s.loadavg?.[0]?.toFixed(2) ?? 'n/a',
      detail: `Load ${load} · ${s.cpuCount} ${s.cpuCount === 1 ? 'core' : 'cores'}`,
      level: levelFor(cpuFraction, 0.75, 0.95),
    });

    if (s.memory && s.memory.totalBytes > 0) {
      const used = s.memory.totalBytes - s.memory.availableBytes;
      const f = used / s.memory.totalBytes;
      gauges.memory.update({ fraction: f, value: percent(f), detail: `${bytes(used)} of ${bytes(s.memory.totalBytes)}`, level: levelFor(f, 0.8, 0.93) });
    } else {
      gauges.memory.update({ fraction: null, value: 'n/a', detail: 'Not reported' });
    }

    if (s.temperatureC !== null) {
      // A Pi starts to throttle at 80 °C and hard-limits at 85 °C: the bar is full at 85.
      const f = s.temperatureC / 85;
      gauges.temperature.update({ fraction: f, value: `${s.temperatureC.toFixed(1)} °C`, detail: 'SoC sensor', level: levelFor(s.temperatureC, 70, 80) });
    } else {
      gauges.temperature.update({ fraction: null, value: 'n/a', detail: 'No sensor on this machine' });
    }

    if (s.disk && s.disk.totalBytes > 0) {
      const free = s.disk.availableBytes / s.disk.totalBytes;
      gauges.disk.update({
        fraction: 1 - free,
        value: bytes(s.disk.availableBytes),
        detail: `${percent(free)} of ${bytes(s.disk.totalBytes)} free · ${s.disk.path}`,
        level: free < 0.05 ? 'crit' : free < 0.15 ? 'warn' : 'ok',
      });
    } else {
      gauges.disk.update({ fraction: null, value: 'n/a', detail: 'Not reported' });
    }

    throttlingRow.hidden = s.throttled === null;
    const t = s.throttled;
    if (t) {
      const chips: HTMLElement[] = [];
      for (const [key, label] of THROTTLE_FLAGS) {
        if (t[`${key}Now`]) chips.push(h('li', { class: 'pill', 'data-tone': 'crit', 'data-flag': `${key}Now` }, `${label} now`));
        else if (t[`${key}Occurred`]) chips.push(h('li', { class: 'pill', 'data-tone': 'warn', 'data-flag': `${key}Occurred` }, `${label} since boot`));
      }
      if (chips.length === 0) chips.push(h('li', { class: 'pill', 'data-tone': 'ok' }, 'No throttling'));
      const key = chips.map((c) => c.textContent).join('|') + t.raw;
      if (throttling.dataset['key'] !== key) {
        throttling.dataset['key'] = key;
        throttling.replaceChildren(...chips);
      }
    }
  };

  const update = (s: Status): void => {
    const now = Date.now();
    health.update(s.healthy, s.reasons);
    led.update(s.led, ctx.api.clockSkewMs());
    const v = device.values;
    setText(v['version']!, s.revision && s.revision !== 'unknown' ? `${s.version} (${s.revision})` : s.version);
    setText(v['node-id']!, s.node.id);
    setText(v['public-key']!, s.node.publicKey);
    setText(v['uptime']!, duration(s.uptimeSec));
    setText(v['hal']!, s.hal
      ? `${s.hal.mode === 'sim' ? 'simulated' : s.hal.mode} · watchdog ${s.hal.watchdog ?? 'none'} · button ${s.hal.button ?? 'none'}`
      : 'not reported');
    setText(v['core']!, `pid ${s.core.pid} · ${bytes(s.core.rssBytes)} RSS`);
    const b = s.lastButtonEvent;
    setText(v['last-button-event']!, b ? `${b.action} at ${clockTime(b.at)} (${relative(b.at, now)})` : 'none yet');
    setAttr(v['last-button-event']!, 'data-action', b ? b.action : null);
    updateSystem(s.system);
    children.update(s.children, now);

    const simulated = s.hal?.mode === 'sim';
    if (simulated && !sim) {
      sim = createSimButton(ctx.api, ctx.signal, () => poller.refresh());
      simSlot.replaceChildren(section('sim-button-title', 'Simulated button', sim.el));
    } else if (!simulated && sim) {
      sim = null;
      simSlot.replaceChildren();
    }
    setText(updated, `Updated ${clockTime(now)}`);
  };

  const poller = poll(async (signal) => {
    try {
      const status = await ctx.api.get<Status>('/api/v1/status', { signal, timeoutMs: 4000 });
      ctx.connection.ok();
      setAttr(page, 'data-stale', 'false');
      update(status);
    } catch (err) {
      const e = toApiError(err);
      if (e.code === WEB_ERR_ABORTED) return;
      ctx.connection.failed(e);
      // Keep the last values on screen but mark them as old.
      setAttr(page, 'data-stale', 'true');
    }
  }, POLL_INTERVAL_MS, ctx.signal);

  return () => led.destroy();
}

export const statusPage: Page = { path: '/status', title: 'Status', role: 'user', render };
