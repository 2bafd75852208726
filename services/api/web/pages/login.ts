// Login: first-boot setup with the one-time code, password login, TRON wallet login (TIP-191:
// a wallet extension's signMessageV2 when the browser has one, else a pasted signature) and the
// Ledger attached to the appliance.
import { ApiError } from '../api.js';
import { h } from '../dom.js';
import type { Page } from '../page.js';
import { afterLogin, getSession, setSession, type Session } from '../session.js';
import { button, form, input, outcome } from '../components/form.js';
import { createCertificateFacts } from '../components/certificate.js';

interface Methods { setupRequired: boolean; hardwareWallet: boolean; lockdown: boolean; newSessionsAllowed: boolean }
interface TronLink { trx?: { signMessageV2?: (message: string) => Promise<string> } }

export const loginPage: Page = {
  path: '/login',
  title: 'Log in',
  nav: false,
  render(root, ctx) {
    const { api, signal } = ctx;
    const out = outcome('login-result');
    const body = h('div', { class: 'grid login' });
    root.append(h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Log in'),
      h('span', { class: 'muted small' }, getSession() ? `Logged in as ${getSession()!.user.username}` : 'Lucid appliance')), out.el, body));
    const done = (s: Session): void => {
      setSession(s);
      afterLogin();
    };

    const password = (): HTMLElement => {
      const user = input('username', 'Username', { autocomplete: 'username', required: true });
      const pass = input('password', 'Password', { type: 'password', autocomplete: 'current-password', required: true });
      return h('section', { class: 'card' }, h('h2', null, 'Password'), form('login-form', 'Log in', [user.row, pass.row], async () => {
        out.busy('Logging in…');
        try {
          done(await api.post<Session>('/api/v1/auth/login', { username: user.el.value, password: pass.el.value }, { signal }));
        } catch (err) { out.fail(err); }
      }, signal));
    };

    const wallet = (): HTMLElement => {
      const address = input('address', 'TRON address', { placeholder: 'T…', spellcheck: false });
      const message = h('pre', { class: 'challenge', 'data-testid': 'challenge', hidden: true });
      const signature = input('signature', 'Signature (0x…, from signMessageV2)', { spellcheck: false });
      let text = '';
      const sign = async (): Promise<void> => {
        out.busy('Getting a challenge…');
        try {
          text = (await api.post<{ message: string }>('/api/v1/auth/challenge', { address: address.el.value.trim() }, { signal })).message;
          message.textContent = text;
          message.hidden = false;
          const tron = (window as unknown as { tronWeb?: TronLink }).tronWeb;
          if (tron?.trx?.signMessageV2) {
            out.busy('Confirm in your wallet…');
            signature.el.value = await tron.trx.signMessageV2(text);
          }
          if (!signature.el.value) return out.ok('Sign the text above with your wallet (signMessageV2) and paste the signature.');
          done(await api.post<Session>('/api/v1/auth/wallet', { address: address.el.value.trim(), signature: signature.el.value.trim() }, { signal }));
        } catch (err) { out.fail(err); }
      };
      const submit = async (): Promise<void> => {
        try {
          done(await api.post<Session>('/api/v1/auth/wallet', { address: address.el.value.trim(), signature: signature.el.value.trim() }, { signal }));
        } catch (err) { out.fail(err); }
      };
      return h('section', { class: 'card' }, h('h2', null, 'TRON wallet'), address.row,
        h('div', { class: 'btn-row' }, button('Sign in with wallet', 'wallet-sign', sign, signal)), message, signature.row,
        h('div', { class: 'btn-row' }, button('Send signature', 'wallet-submit', submit, signal)));
    };

    const hardware = (): HTMLElement => h('section', { class: 'card' }, h('h2', null, 'Hardware wallet'),
      h('p', { class: 'muted small' }, 'A Ledger with the TRON app, plugged into this appliance. Confirm the message on the device.'),
      h('div', { class: 'btn-row' }, button('Sign in with the Ledger', 'hardware-login', async () => {
        out.busy('Waiting for the Ledger…');
        try { done(await api.post<Session>('/api/v1/auth/hardware', {}, { signal, timeoutMs: 130_000 })); } catch (err) { out.fail(err); }
      }, signal)));

    const setup = (): HTMLElement => {
      const code = input('code', 'Setup code (from the device log or a long press of its button)', { required: true, spellcheck: false });
      const user = input('username', 'Username of the first admin', { autocomplete: 'username', required: true });
      const pass = input('password', 'Password (12+ characters, not a common one)', { type: 'password', autocomplete: 'new-password', required: true });
      // Before a password goes anywhere: is this the appliance? (trust on first use a person can check)
      const certificate = createCertificateFacts(api, signal);
      certificate.load().catch((err: unknown) => out.fail(err));
      const check = h('section', { class: 'card', 'aria-labelledby': 'tls-title' }, h('h2', { id: 'tls-title' }, 'Check the certificate first'), certificate.el);
      return h('div', { class: 'grid' }, check, h('section', { class: 'card' }, h('h2', null, 'First-time setup'), form('setup-form', 'Create admin', [code.row, user.row, pass.row], async () => {
        out.busy('Setting up…');
        try {
          done(await api.post<Session>('/api/v1/auth/setup', { code: code.el.value.trim(), username: user.el.value, password: pass.el.value }, { signal }));
        } catch (err) { out.fail(err); }
      }, signal)));
    };

    void api.get<Methods>('/api/v1/auth/methods', { signal }).then((m) => {
      ctx.connection.ok();
      if (m.lockdown) out.fail(new ApiError('The appliance is locked down: only admins can log in', 'AUTH_ERR_LOCKDOWN'));
      body.append(...(m.setupRequired ? [setup()] : [password(), wallet(), ...(m.hardwareWallet ? [hardware()] : [])]));
    }, (err: unknown) => out.fail(err));
  },
};
