// The two-person rule needs two people (services/auth/approvals.ts, README "Two-person rule"):
// granting admin or super_admin and touching another admin's credentials are two-person actions
// themselves; the approver must be another admin that existed before the request and that the
// requester did not create, promote or give credentials to (nor whose credentials the approver
// set on the requester); at bootstrap, while no account can approve, only a code from the
// device itself (a long press of the button) stands in.
import { afterEach, describe, expect, it } from 'vitest';
import { buildAuthApp, PASSWORD, type AuthApp } from '../../helpers/auth-app.js';

let h: AuthApp | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ADDRESS = 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC';
type Json = Record<string, any>;

async function api(a: AuthApp, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object): Promise<{ status: number; body: Json }> {
  const res = await a.inject({ method, url, token, ...(payload ? { payload } : method === 'POST' ? { payload: {} } : {}) });
  return { status: res.statusCode, body: res.json() as Json };
}
const approve = (a: AuthApp, id: string, token: string, body: object = {}) => api(a, 'POST', `/api/v1/approvals/${id}/approve`, token, body);

describe('the two-person rule', () => {
  it('a sole admin cannot make a second admin alone: the grant waits, and only the device code can confirm it', async () => {
    h = await buildAuthApp();
    const root = (await h.setupRoot()).accessToken;
    const made = await api(h, 'POST', '/api/v1/users', root, { username: 'bea', password: PASSWORD, role: 'admin' });
    expect(made.status).toBe(202);
    expect(made.body).toMatchObject({ user: { username: 'bea', role: 'user', createdBy: expect.any(String) }, approval: { kind: 'user.update', params: { role: 'admin' }, deviceCode: true } });
    const id = made.body['approval'].id as string;
    expect((await approve(h, id, root)).body).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_APPROVAL_SELF' });
    expect((await approve(h, id, root, { deviceCode: 'AAAA-BBBB-CCCC-DDDD' })).body).toMatchObject({ statusCode: 403, code: 'AUTH_ERR_DEVICE_CODE' });
    expect((await api(h, 'GET', `/api/v1/users/${made.body['user'].id}`, root)).body['role']).toBe('user');
    const ok = await h.approveWithDeviceCode(id, root);
    expect(ok.statusCode).toBe(200);
    const bea = (await api(h, 'GET', `/api/v1/users/${made.body['user'].id}`, root)).body;
    expect(bea).toMatchObject({ role: 'admin', roleChangedBy: bea['createdBy'], roleApprovedBy: 'device' });
    // The code is good once: a second long press is needed for the next.
    const next = await api(h, 'POST', '/api/v1/users', root, { username: 'cal', password: PASSWORD, role: 'admin' });
    expect((await approve(h, next.body['approval'].id, root, { deviceCode: h.auth.deviceCode.current ?? 'used-up-code' })).body.code).toBe('AUTH_ERR_DEVICE_CODE');
  });

  it('an admin cannot approve their own lockdown through an admin they made or whose password they set', async () => {
    h = await buildAuthApp();
    const root = (await h.setupRoot()).accessToken;
    const bea = await h.userWithRole('admin', 'bea'); // made by root, with a password bea then set herself
    // root asks, bea approves: bea was made by root.
    const req = await api(h, 'POST', '/api/v1/emergency/requests', root, { action: 'lockdown', reason: 'one person' });
    expect((await api(h, 'POST', `/api/v1/emergency/requests/${req.body['id']}/approve`, bea.accessToken)).body).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT', details: { why: 'the requester created the approver' } });
    expect(h.auth.emergency.lockdownActive).toBe(false);
    // An admin root made but who never set their own password: root knows it, so root may not
    // approve what that account asks either.
    const made = await api(h, 'POST', '/api/v1/users', root, { username: 'puppet', password: PASSWORD, role: 'admin' });
    expect((await h.approveWithDeviceCode(made.body['approval'].id, root)).statusCode).toBe(200);
    const puppet = await h.login('puppet');
    const asked = await api(h, 'POST', '/api/v1/emergency/requests', puppet.accessToken, { action: 'lockdown', reason: 'one person again' });
    expect((await api(h, 'POST', `/api/v1/emergency/requests/${asked.body['id']}/approve`, root)).body).toMatchObject({ statusCode: 409, code: 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT' });
    // Resetting another admin's password takes two people: root alone only files a request.
    const reset = await api(h, 'PATCH', `/api/v1/users/${bea.user.id}`, root, { password: 'root-knows-this-now-1' });
    expect(reset.status).toBe(202);
    expect(reset.body['approval']).toMatchObject({ kind: 'user.update', params: { credentials: 'password reset' } });
    expect(JSON.stringify(reset.body)).not.toMatch(/scrypt|root-knows/);
    expect((await h.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'bea', password: 'root-knows-this-now-1' } })).statusCode).toBe(401);
    expect(h.auth.emergency.lockdownActive).toBe(false);
  });

  it('an independent admin approves: the action runs, and the provenance names both', async () => {
    h = await buildAuthApp();
    const root = (await h.setupRoot()).accessToken;
    const bea = await h.userWithRole('admin', 'bea');
    // bea made "dan" (a user) and asks to make him an admin; root — not made by bea — approves.
    const dan = await api(h, 'POST', '/api/v1/users', bea.accessToken, { username: 'dan', password: PASSWORD, role: 'user' });
    const ask = await api(h, 'PATCH', `/api/v1/users/${dan.body['id']}`, bea.accessToken, { role: 'admin' });
    expect(ask.status).toBe(202);
    const listed = await api(h, 'GET', '/api/v1/approvals', root);
    expect(listed.body['approvals']).toEqual([expect.objectContaining({ id: ask.body['approval'].id, kind: 'user.update', deviceCode: false, requestedBy: expect.objectContaining({ username: 'bea' }) })]);
    // While an admin can approve it, the device code may not stand in.
    await h.auth.onLongPress();
    expect(h.auth.deviceCode.current).toBeNull();
    const done = await approve(h, ask.body['approval'].id, root);
    expect(done.status).toBe(200);
    expect((await api(h, 'GET', `/api/v1/users/${dan.body['id']}`, root)).body).toMatchObject({ role: 'admin', createdBy: bea.user.id, roleChangedBy: bea.user.id, roleApprovedBy: expect.any(String) });
    // dan was made by bea, not by root: dan may approve what root asks.
    const danToken = (await h.login('dan')).accessToken;
    await api(h, 'POST', '/api/v1/auth/me/password', danToken, { currentPassword: PASSWORD, newPassword: PASSWORD });
    const lock = await api(h, 'POST', '/api/v1/emergency/requests', root, { action: 'lockdown', reason: 'drill' });
    expect((await api(h, 'POST', `/api/v1/emergency/requests/${lock.body['id']}/approve`, danToken)).status).toBe(200);
    expect(h.auth.emergency.lockdownActive).toBe(true);
  });

  it('the approver must have existed (as an admin) before the request, rank high enough, and not be its subject', async () => {
    h = await buildAuthApp();
    const root = (await h.setupRoot()).accessToken;
    const bea = await h.userWithRole('admin', 'bea');
    const lock = await api(h, 'POST', '/api/v1/emergency/requests', bea.accessToken, { action: 'lockdown', reason: 'later approver' });
    h.skew += 5; // the new admin is made after the request
    const late = await h.userWithRole('admin', 'late');
    expect((await api(h, 'POST', `/api/v1/emergency/requests/${lock.body['id']}/approve`, late.accessToken)).body).toMatchObject({ code: 'AUTH_ERR_APPROVAL_NOT_INDEPENDENT', details: { why: 'the approver did not exist before the request' } });
    // A super_admin grant needs a super_admin approver; the subject never approves their own.
    const ask = await api(h, 'PATCH', `/api/v1/users/${late.user.id}`, root, { role: 'super_admin' });
    expect(ask.status).toBe(202);
    expect((await approve(h, ask.body['approval'].id, late.accessToken)).status).toBe(409);
    expect((await approve(h, ask.body['approval'].id, bea.accessToken)).status).toBeGreaterThanOrEqual(403);
    expect((await api(h, 'GET', `/api/v1/users/${late.user.id}`, root)).body['role']).toBe('admin');
  });

  it('linking or unlinking another admin\'s wallet takes two people; one\'s own, or a plain user\'s, one', async () => {
    h = await buildAuthApp();
    const root = await h.setupRoot();
    const bea = await h.userWithRole('admin', 'bea');
    const carl = await h.userWithRole('user', 'carl');
    expect((await api(h, 'POST', `/api/v1/users/${carl.user.id}/wallets`, root.accessToken, { address: ADDRESS })).status).toBe(201);
    expect((await api(h, 'DELETE', `/api/v1/users/${carl.user.id}/wallets/${ADDRESS}`, root.accessToken)).status).toBe(200);
    const link = await api(h, 'POST', `/api/v1/users/${bea.user.id}/wallets`, root.accessToken, { address: ADDRESS });
    expect(link.status).toBe(202);
    expect(link.body['approval']).toMatchObject({ kind: 'user.wallet.link', params: { address: ADDRESS } });
    expect((await api(h, 'GET', `/api/v1/users/${bea.user.id}`, root.accessToken)).body['wallets']).toEqual([]);
    expect((await api(h, 'POST', `/api/v1/users/${root.user.id}/wallets`, root.accessToken, { address: ADDRESS })).status).toBe(201);
    expect((await api(h, 'DELETE', `/api/v1/users/${root.user.id}/wallets/${ADDRESS}`, root.accessToken)).status).toBe(200);
    // The grant's approver (no one else can: bea was made by root) is the device code.
    expect((await h.approveWithDeviceCode(link.body['approval'].id, root.accessToken)).statusCode).toBe(200);
    expect((await api(h, 'GET', `/api/v1/users/${bea.user.id}`, root.accessToken)).body).toMatchObject({ wallets: [ADDRESS], credentialsChangedBy: root.user.id });
    const unlink = await api(h, 'DELETE', `/api/v1/users/${bea.user.id}/wallets/${ADDRESS}`, root.accessToken);
    expect(unlink.status).toBe(202);
    expect(unlink.body['approval'].kind).toBe('user.wallet.unlink');
  });
});
