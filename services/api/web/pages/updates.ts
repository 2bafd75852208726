// Updates: the installed version and slot, the last check, an available release, progress
// (bytes of total), the trial's health gate, the history with outcomes and reasons, and for
// admins Check now / Install / Roll back to previous and an offline bundle upload; the fleet
// enrollment (status, pin, assignment) and, for admins, the form that enrolls.
import { h, setText } from '../dom.js';
import type { Page } from '../page.js';
import { poll } from '../poller.js';
import { bytes, duration } from '../format.js';
import { ApiError, toApiError } from '../api.js';
import { atLeast, getSession } from '../session.js';
import { button, outcome, table, td, when } from '../components/form.js';
import type { OtaStatus } from '../../../../ota/shared/status.js';

function putBundle(file: File, onProgress: (sent: number) => void, signal: AbortSignal): Promise<OtaStatus> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', '/api/v1/ota/bundle?install=true');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    const token = getSession()?.accessToken;
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let data: { code?: string; message?: string } = {};
      try { data = JSON.parse(xhr.responseText) as typeof data; } catch { /* not JSON */ }
      if (xhr.status === 202) resolve(data as unknown as OtaStatus);
      else reject(new ApiError(data.message ?? `HTTP ${xhr.status}`, data.code ?? 'WEB_ERR_BAD_RESPONSE', xhr.status));
    };
    xhr.onerror = () => reject(new ApiError('the upload connection failed', 'WEB_ERR_UNREACHABLE'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

const PHASE: Record<string, string> = {
  idle: 'Up to date or waiting', fetching: 'Downloading', staging: 'Writing the inactive slot', staged: 'Ready to switch',
  switching: 'Restarting into the new version', trial: 'On trial (health gate)',
};

export const updatesPage: Page = {
  path: '/updates',
  title: 'Updates',
  role: 'user',
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('ota-result');
    const installed = h('div', { 'data-testid': 'ota-installed' });
    const progressText = h('p', { class: 'small', 'data-testid': 'ota-progress-text' });
    const bar = h('progress', { 'data-testid': 'ota-progress', max: 1, value: 0 });
    const state = h('div', { 'data-testid': 'ota-state' });
    const history = h('div', { 'data-testid': 'ota-history' });
    const fleet = h('div', { 'data-testid': 'ota-fleet' });
    const fleetUrl = h('input', { type: 'url', placeholder: 'https://fleet.example.net:8090', 'data-testid': 'ota-fleet-url', 'aria-label': 'Fleet URL' });
    const fleetToken = h('input', { type: 'text', placeholder: 'lft_…', autocomplete: 'off', 'data-testid': 'ota-fleet-token', 'aria-label': 'Enrollment token' });
    let poller: { refresh(): void } | null = null;
    const act = async (what: string, path: string): Promise<void> => {
      out.busy(`${what}…`);
      try {
        await api.post(path, undefined, { signal, timeoutMs: 120_000 });
        out.ok(`${what}: done`);
      } catch (err) { out.fail(err); }
      poller?.refresh();
    };

    const render = (s: OtaStatus): void => {
      installed.replaceChildren(
        h('div', { class: 'facts-row' }, h('strong', null, 'Installed: '), h('span', { 'data-testid': 'ota-version' }, s.version),
          s.slot ? ` (slot ${s.slot})` : ' (no A/B slots here: updates can be checked, not installed)'),
        h('div', { class: 'facts-row small muted' }, `Channel ${s.channel}; ${s.online ? `online checks ${s.intervalS ? `every ${duration(s.intervalS)}` : 'on request'}` : 'no online repository'}; automatic install ${s.autoInstall ? 'on' : 'off'}`),
        s.previous ? h('div', { class: 'facts-row', 'data-testid': 'ota-previous' }, `Previous: ${s.previous.version} in slot ${s.previous.slot}`) : '',
      );
      const job = s.job;
      setText(progressText, job ? `${PHASE[s.phase] ?? s.phase}: ${job.version} — ${bytes(job.progress.done)} of ${bytes(job.progress.total)}${job.error ? ` (waiting: ${job.error.message})` : ''}` : PHASE[s.phase] ?? s.phase);
      bar.max = Math.max(1, job?.progress.total ?? 1);
      bar.value = job?.progress.done ?? 0;
      bar.hidden = !job || s.phase !== 'fetching';
      const check = s.lastCheck;
      state.replaceChildren(
        h('div', { class: 'facts-row', 'data-testid': 'ota-last-check' }, h('strong', null, 'Last check: '),
          check ? `${when(check.at)} (${check.source})${check.error ? ` — ${check.error.message} [${check.error.code}]` : ' — ok'}` : 'never'),
        h('div', { class: 'facts-row', 'data-testid': 'ota-available' }, h('strong', null, 'Available: '),
          s.available ? `${s.available.version} (${s.available.source}; ${bytes(s.available.missingBytes ?? s.available.downloadBytes)} to download of ${bytes(s.available.downloadBytes)})${s.available.notes ? ` — ${s.available.notes}` : ''}` : 'nothing newer'),
        s.trial ? h('div', { class: 'facts-row', 'data-testid': 'ota-trial' }, h('strong', null, 'Trial: '),
          `${s.trial.version}, boot ${s.trial.boots} of ${s.trial.maxBoots}, healthy for ${s.trial.healthySinceS === null ? 'not yet' : duration(s.trial.healthySinceS)} of ${duration(s.trial.soakS)}, self-test ${s.trial.selftest}`) : '',
      );
      const f = s.fleet;
      fleet.replaceChildren(!f || !f.enrolled
        ? h('p', { class: 'small muted', 'data-testid': 'ota-fleet-state' }, f?.error ? `Not enrolled — ${f.error.message} [${f.error.code}]` : 'Not enrolled in a fleet: this appliance updates on its own.')
        : h('div', { 'data-testid': 'ota-fleet-state' },
          h('div', { class: 'facts-row' }, h('strong', null, 'Fleet: '), `${f.url} (device ${f.deviceId?.slice(0, 12) ?? '?'}…)`),
          h('div', { class: 'facts-row small muted' }, f.pin ? `Certificate pinned (${f.pinSource === 'token' ? 'from the token' : 'first use'}): SHA-256 of its key ${f.pin}` : (f.warning ?? 'not pinned')),
          h('div', { class: 'facts-row' }, h('strong', null, 'Last check-in: '), f.lastCheckinAt ? when(f.lastCheckinAt) : 'not yet',
            f.error ? h('span', { class: 'error', 'data-testid': 'ota-fleet-error' }, ` — ${f.error.code === 'OTA_ERR_FLEET_PIN' ? 'fleet certificate changed; working on its own' : f.error.message} [${f.error.code}]`) : ''),
          f.assignment ? h('div', { class: 'facts-row', 'data-testid': 'ota-fleet-assignment' }, h('strong', null, 'Assignment: '), `${f.assignment.kind} ${f.assignment.version}: ${f.assignment.phase}${f.assignment.reason ? ` (${f.assignment.reason})` : ''}`) : '',
          f.waiting ? h('div', { class: 'facts-row small muted' }, `Waiting: ${f.waiting}`) : ''));
      enrollForm.hidden = !admin || Boolean(f?.enrolled);
      history.replaceChildren(s.history.length === 0 ? h('p', { class: 'muted small' }, 'No updates yet.') : table('ota-history-table', ['When', 'Version', 'From', 'Outcome', 'Reason'], s.history.map((e) =>
        h('tr', { 'data-outcome': e.outcome }, td('When', when(e.at)), td('Version', e.version), td('From', e.fromVersion), td('Outcome', e.outcome), td('Reason', e.reason)))));
    };

    const admin = atLeast('admin');
    const enroll = button('Enroll', 'ota-fleet-enroll', async () => {
      out.busy('Enrolling…');
      try {
        await api.post('/api/v1/ota/fleet/enroll', { url: fleetUrl.value.trim(), token: fleetToken.value.trim() }, { signal, timeoutMs: 60_000 });
        fleetToken.value = '';
        out.ok('Enrolled in the fleet');
      } catch (err) { out.fail(err); }
      poller?.refresh();
    }, signal);
    const enrollForm = h('div', { 'data-testid': 'ota-fleet-form' }, h('p', { class: 'small muted' }, 'URL and single-use token from the fleet\'s web UI; a token with a pin (lft_….pin) only talks to the fleet that has that certificate.'), fleetUrl, fleetToken, h('div', { class: 'btn-row' }, enroll));
    const file = h('input', { type: 'file', accept: '.lucid-bundle', 'data-testid': 'ota-bundle-file' });
    const upload = button('Upload bundle and install', 'ota-bundle-upload', async () => {
      const f = file.files?.[0];
      if (!f) { out.fail(new ApiError('choose a .lucid-bundle file first', 'WEB_ERR_INPUT')); return; }
      try {
        await putBundle(f, (sent) => out.busy(`Uploading ${bytes(sent)} of ${bytes(f.size)}…`), signal);
        out.ok('Bundle verified; installing');
      } catch (err) { out.fail(toApiError(err)); }
      poller?.refresh();
    }, signal);
    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Updates')), out.el,
      h('section', { class: 'card' }, h('h2', null, 'Installed'), installed),
      h('section', { class: 'section card' }, h('h2', null, 'Status'), progressText, bar, state,
        admin ? h('div', { class: 'btn-row' },
          button('Check now', 'ota-check', () => act('Check', '/api/v1/ota/check'), signal),
          button('Install', 'ota-install', () => act('Install', '/api/v1/ota/install'), signal),
          button('Roll back to previous', 'ota-rollback', () => act('Roll back', '/api/v1/ota/rollback'), signal, true)) : ''),
      admin ? h('section', { class: 'section card' }, h('h2', null, 'Offline bundle'), h('p', { class: 'small muted' }, 'A bundle made with ./build.sh release bundle; it is verified exactly like a download.'), file, h('div', { class: 'btn-row' }, upload)) : '',
      h('section', { class: 'section card' }, h('h2', null, 'Fleet'), fleet, enrollForm),
      h('section', { class: 'section' }, h('h2', null, 'History'), history)));

    poller = poll(async (s) => {
      try {
        render(await api.get<OtaStatus>('/api/v1/ota', { signal: s }));
        ctx.connection.ok();
      } catch (err) {
        const e = toApiError(err);
        if (e.code === 'WEB_ERR_UNREACHABLE' || e.code === 'WEB_ERR_TIMEOUT') ctx.connection.failed(e);
        else setText(progressText, `${e.message} [${e.code}]`);
      }
    }, 2000, signal);
  },
};
