// Emergency controls (issue #4 §8): lockdown (only admins may act; auto-reverts after 24 h; the
// LED shows it), disable new sessions (auto-reverts after 12 h) and stop all sessions. Lockdown
// and stop-all are two-step: one admin requests, a *different* admin approves; each step is
// audited. State is persisted (`auth-emergency`) so a restart keeps a lockdown in force and
// re-asserts the LED flag.
import type { Store, Sublevel } from '../store/index.js';
import { LucidError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { AuditActor, AuditLog } from './audit.js';
import { newId } from './jwt.js';

export const LOCKDOWN_MS = 24 * 3600 * 1000;
export const SESSIONS_DISABLED_MS = 12 * 3600 * 1000;
export const REQUEST_TTL_MS = 30 * 60 * 1000;

export type EmergencyAction = 'lockdown' | 'stop-all-sessions';

export interface PendingRequest {
  readonly id: string;
  readonly action: EmergencyAction;
  readonly requestedBy: AuditActor;
  readonly reason: string;
  readonly at: number;
  readonly expiresAt: number;
}

export interface Switch { readonly active: boolean; readonly since: number | null; readonly until: number | null; readonly by: string | null }

export interface EmergencyState {
  readonly lockdown: Switch;
  readonly sessionsDisabled: Switch;
  readonly requests: readonly PendingRequest[];
}

const OFF: Switch = { active: false, since: null, until: null, by: null };

export interface EmergencyDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly now: () => number;
  /** Shows or clears the lockdown LED pattern (supervisor flag). Failures are logged, never thrown. */
  readonly setLockdownFlag: (value: boolean) => Promise<void>;
  /** Stops every session; answers how many were stopped. */
  readonly stopAllSessions: (approver: AuditActor) => Promise<Record<string, number>>;
}

export class EmergencyControls {
  private readonly db: Sublevel<EmergencyState>;
  private state: EmergencyState = { lockdown: OFF, sessionsDisabled: OFF, requests: [] };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EmergencyDeps) {
    this.db = deps.store.sublevel<EmergencyState>('auth-emergency');
  }

  async start(): Promise<void> {
    this.state = (await this.db.get('state')) ?? this.state;
    await this.expire();
    if (this.state.lockdown.active) await this.deps.setLockdownFlag(true);
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  view(): EmergencyState {
    const now = this.deps.now();
    return { ...this.state, requests: this.state.requests.filter((r) => r.expiresAt > now) };
  }

  get lockdownActive(): boolean {
    const l = this.state.lockdown;
    return l.active && (l.until ?? Infinity) > this.deps.now();
  }

  get newSessionsAllowed(): boolean {
    const s = this.state.sessionsDisabled;
    return !(s.active && (s.until ?? Infinity) > this.deps.now());
  }

  async request(action: EmergencyAction, actor: AuditActor, reason: string, ip: string | null): Promise<PendingRequest> {
    const now = this.deps.now();
    const req: PendingRequest = { id: newId(9), action, requestedBy: actor, reason, at: now, expiresAt: now + REQUEST_TTL_MS };
    await this.save({ ...this.state, requests: [...this.view().requests, req] });
    await this.deps.audit.append({ actor, action: `emergency.${action}.request`, target: req.id, ip, outcome: 'success', details: { reason } });
    return req;
  }

  async approve(id: string, approver: AuditActor, ip: string | null): Promise<{ request: PendingRequest; result: Record<string, unknown> }> {
    const req = this.view().requests.find((r) => r.id === id);
    if (!req) throw new LucidError('AUTH_ERR_REQUEST_NOT_FOUND', `no pending request ${id}`);
    if (req.requestedBy.id === approver.id) {
      await this.deps.audit.append({ actor: approver, action: `emergency.${req.action}.approve`, target: id, ip, outcome: 'denied', details: { why: 'same admin' } });
      throw new LucidError('AUTH_ERR_APPROVAL_SELF');
    }
    const now = this.deps.now();
    await this.save({ ...this.state, requests: this.state.requests.filter((r) => r.id !== id) });
    let result: Record<string, unknown>;
    if (req.action === 'lockdown') {
      await this.save({ ...this.state, lockdown: { active: true, since: now, until: now + LOCKDOWN_MS, by: `${req.requestedBy.username}+${approver.username}` } });
      await this.deps.setLockdownFlag(true);
      result = { lockdown: this.state.lockdown };
    } else {
      result = { stopped: await this.deps.stopAllSessions(approver) };
    }
    await this.deps.audit.append({
      actor: approver, action: `emergency.${req.action}.approve`, target: id, ip, outcome: 'success',
      details: { requestedBy: req.requestedBy.username, ...result },
    });
    this.schedule();
    return { request: req, result };
  }

  async liftLockdown(actor: AuditActor, ip: string | null): Promise<void> {
    await this.save({ ...this.state, lockdown: OFF });
    await this.deps.setLockdownFlag(false);
    await this.deps.audit.append({ actor, action: 'emergency.lockdown.lift', target: null, ip, outcome: 'success' });
    this.schedule();
  }

  async setSessionsDisabled(disabled: boolean, actor: AuditActor, ip: string | null): Promise<Switch> {
    const now = this.deps.now();
    const next: Switch = disabled ? { active: true, since: now, until: now + SESSIONS_DISABLED_MS, by: actor.username } : OFF;
    await this.save({ ...this.state, sessionsDisabled: next });
    await this.deps.audit.append({ actor, action: disabled ? 'emergency.sessions.disable' : 'emergency.sessions.enable', target: null, ip, outcome: 'success' });
    this.schedule();
    return next;
  }

  /** Reverts switches whose time is up (audited as done by the system). */
  private async expire(): Promise<void> {
    const now = this.deps.now();
    const { lockdown, sessionsDisabled } = this.state;
    if (lockdown.active && (lockdown.until ?? Infinity) <= now) {
      await this.save({ ...this.state, lockdown: OFF });
      await this.deps.setLockdownFlag(false);
      await this.deps.audit.append({ actor: null, action: 'emergency.lockdown.expire', target: null, ip: null, outcome: 'success', details: { since: lockdown.since } });
    }
    if (sessionsDisabled.active && (sessionsDisabled.until ?? Infinity) <= now) {
      await this.save({ ...this.state, sessionsDisabled: OFF });
      await this.deps.audit.append({ actor: null, action: 'emergency.sessions.expire', target: null, ip: null, outcome: 'success' });
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const untils = [this.state.lockdown.until, this.state.sessionsDisabled.until].filter((u): u is number => u !== null);
    if (untils.length === 0) return;
    // setTimeout caps at ~24.8 days; our longest wait is 24 h.
    const wait = Math.max(0, Math.min(...untils) - this.deps.now()) + 50;
    this.timer = setTimeout(() => {
      this.expire().then(() => this.schedule(), (err: unknown) => this.deps.log.error({ err }, 'emergency auto-revert failed'));
    }, wait);
    this.timer.unref();
  }

  private async save(next: EmergencyState): Promise<void> {
    await this.db.put('state', next);
    this.state = next;
  }
}
