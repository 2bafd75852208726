// Boots the fleet web UI: nav from the page list, a hash router (#/devices, #/rollouts/<id>, …),
// the login (or first-admin setup with the setup code from the server log) and page polls that
// stop when the page changes.
import { call, getSession, setSession, signIn } from './api.js';
import type { FleetPage } from './page.js';
import { approvalsPage, auditPage } from './pages-admin.js';
import { devicesPage, groupsPage } from './pages-inventory.js';
import { releasesPage, rolloutPage, rolloutsPage } from './pages-rollouts.js';
import { button, field, h, messageLine } from './ui.js';

const pages: readonly FleetPage[] = [devicesPage, groupsPage, releasesPage, rolloutsPage, rolloutPage, approvalsPage, auditPage];
const main = document.getElementById('content')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
let timers: number[] = [];
let generation = 0;

function drawNav(current: FleetPage | null): void {
  const s = getSession();
  nav.replaceChildren(...(s ? pages.filter((p) => p.nav !== false).map((p) => h('a', { href: `#${p.path}`, 'aria-current': p === current || (current === rolloutPage && p === rolloutsPage) ? 'page' : null }, p.title)) : []));
  who.hidden = !s;
  who.replaceChildren(...(s ? [`${s.username} (${s.role}) `, button('Log out', 'logout', async () => {
    await call('POST', '/api/v1/auth/logout').catch(() => undefined);
    setSession(null);
    location.hash = '#/login';
    void route();
  })] : []));
}

async function loginPage(): Promise<void> {
  const msg = messageLine();
  const setup = await call<{ needed: boolean }>('GET', '/api/v1/auth/setup').catch(() => ({ needed: false }));
  const user = h('input', { name: 'username', autocomplete: 'username', 'data-testid': 'login-username' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: setup.needed ? 'new-password' : 'current-password', 'data-testid': 'login-password' });
  const code = h('input', { name: 'code', 'data-testid': 'setup-code' });
  const form = h('form', { class: 'stack' }, field('Username', user), field('Password', pass), setup.needed ? field('Setup code (printed in the server log)', code) : '',
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, setup.needed ? 'Create the first admin' : 'Log in'), msg.el);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body: Record<string, string> = setup.needed ? { code: code.value, username: user.value, password: pass.value } : { username: user.value, password: pass.value };
    void signIn(setup.needed ? '/api/v1/auth/setup' : '/api/v1/auth/login', body).then(() => { location.hash = '#/devices'; void route(); }, (e: unknown) => msg.show(e));
  });
  main.replaceChildren(h('h1', null, setup.needed ? 'Set up the fleet' : 'Log in'), h('div', { class: 'card' }, form));
}

async function route(): Promise<void> {
  const mine = ++generation;
  for (const t of timers) clearInterval(t);
  timers = [];
  const path = location.hash.replace(/^#/, '') || '/devices';
  if (!getSession() || path === '/login') {
    drawNav(null);
    await loginPage();
    return;
  }
  const page = pages.find((p) => p.path === path) ?? pages.find((p) => p.path.endsWith('/') && path.startsWith(p.path)) ?? devicesPage;
  const param = page.path.endsWith('/') ? decodeURIComponent(path.slice(page.path.length)) : null;
  drawNav(page);
  document.title = `${page.title} · Lucid fleet`;
  const poll = (fn: () => Promise<void>, everyMs: number): void => {
    if (mine !== generation) return;
    timers.push(window.setInterval(() => {
      if (!getSession()) { void route(); return; }
      void fn();
    }, everyMs));
  };
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  await page.render(main, poll, param);
  main.setAttribute('data-page', page.path);
}

/** The certificate a person compares with what the browser shows (and devices pin). */
async function showCertificate(): Promise<void> {
  const el = document.getElementById('cert');
  if (!el) return;
  const t = await call<{ certificateSha256: string; pin: string; source: string }>('GET', '/api/v1/tls').catch(() => null);
  if (!t) return;
  el.replaceChildren(
    `This fleet's certificate (${t.source === 'user' ? 'brought by its operator' : 'its own, self-signed'}): SHA-256 fingerprint `,
    h('code', { 'data-testid': 'cert-sha256' }, t.certificateSha256),
    ' — compare it with what your browser shows. Devices pin its public key: ', h('code', { 'data-testid': 'cert-pin' }, t.pin), '.');
}

window.addEventListener('hashchange', () => void route());
void route();
void showCertificate();
