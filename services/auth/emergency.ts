// Emergency controls (issue #4 §8): lockdown (only admins may act; auto-reverts after 24 h; the
// LED shows it), disable new sessions (auto-reverts after 12 h) and stop all sessions. Lockdown
// and stop-all are two-person actions of the approvals mechanism (approvals.ts: one admin
// requests, an independent admin approves, it runs once); each step is audited. The switches
// are persisted (`auth-emergency`, synced) so a restart keeps a lockdown in force and
// re-asserts the LED flag.
import { DURABLE, type Store, type Sublevel } from '../store/index.js';
import type { Logger } from '../common/log.js';
import { KeyedLock } from '../common/keyed-lock.js';
import type { AuditActor, AuditLog } from './audit.js';
import type { ApprovalRequest, Approvals } from './approvals.js';

export const LOCKDOWN_MS = 24 * 3600 * 1000;
export const SESSIONS_DISABLED_MS = 12 * 3600 * 1000;
export { APPROVAL_TTL_MS as REQUEST_TTL_MS } from './approvals.js';

export type EmergencyAction = 'lockdown' | 'stop-all-sessions';
export const EMERGENCY_ACTIONS: readonly EmergencyAction[] = ['lockdown', 'stop-all-sessions'];

/** The emergency page's view of a pending approval request (the shape of issue #4). */
export interface PendingRequest {
  readonly id: string;
  readonly action: EmergencyAction;
  readonly requestedBy: AuditActor;
  readonly reason: string;
  readonly at: number;
  readonly expiresAt: number;
}

export interface Switch { readonly active: boolean; readonly since: number | null; readonly until: number | null; readonly by: string | null }

interface Switches { readonly lockdown: Switch; readonly sessionsDisabled: Switch }
export interface EmergencyState extends Switches { readonly requests: readonly PendingRequest[] }

const OFF: Switch = { active: false, since: null, until: null, by: null };

export interface EmergencyDeps {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly approvals: Approvals;
  readonly log: Logger;
  readonly now: () => number;
  /** Shows or clears the lockdown LED pattern (supervisor flag). Failures are logged, never thrown. */
  readonly setLockdownFlag: (value: boolean) => Promise<void>;
  /** Stops every session; answers how many were stopped. */
  readonly stopAllSessions: (approver: AuditActor) => Promise<Record<string, number>>;
}

export const pendingOf = (r: ApprovalRequest): PendingRequest =>
  ({ id: r.id, action: r.kind as EmergencyAction, requestedBy: r.requestedBy, reason: r.reason, at: r.createdAt, expiresAt: r.expiresAt });

export class EmergencyControls {
  private readonly db: Sublevel<Switches>;
  private state: Switches = { lockdown: OFF, sessionsDisabled: OFF };
  private timer: NodeJS.Timeout | undefined;
  /** Saves of the one state record, in order. */
  private readonly saving = new KeyedLock();

  constructor(private readonly deps: EmergencyDeps) {
    this.db = deps.store.sublevel<Switches>('auth-emergency');
    deps.approvals.register('lockdown', {
      audit: 'emergency.lockdown',
      execute: async (req, _sealed, approver) => {
        const now = this.deps.now();
        await this.save((s) => ({ ...s, lockdown: { active: true, since: now, until: now + LOCKDOWN_MS, by: `${req.requestedBy.username}+${approver.username}` } }));
        await this.deps.setLockdownFlag(true);
        this.schedule();
        return { lockdown: this.state.lockdown };
      },
    });
    deps.approvals.register('stop-all-sessions', {
      audit: 'emergency.stop-all-sessions',
      execute: async (_req, _sealed, approver) => ({ stopped: await this.deps.stopAllSessions(approver) }),
    });
  }

  async start(): Promise<void> {
    const saved = await this.db.get('state');
    // Records from before approvals.ts also held the pending requests: they are dropped (30 min TTL).
    if (saved) this.state = { lockdown: saved.lockdown, sessionsDisabled: saved.sessionsDisabled };
    await this.expire();
    if (this.state.lockdown.active) await this.deps.setLockdownFlag(true);
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  view(): EmergencyState {
    return { ...this.state, requests: this.deps.approvals.pendingOf(EMERGENCY_ACTIONS).map(pendingOf) };
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
    return pendingOf(await this.deps.approvals.request(action, {}, actor, reason, ip));
  }

  async approve(id: string, approver: AuditActor, ip: string | null): Promise<{ request: PendingRequest; result: Record<string, unknown> }> {
    const done = await this.deps.approvals.approve(id, approver, ip, { kinds: EMERGENCY_ACTIONS });
    return { request: pendingOf(done.request), result: done.result };
  }

  async liftLockdown(actor: AuditActor, ip: string | null): Promise<void> {
    await this.save((s) => ({ ...s, lockdown: OFF }));
    await this.deps.setLockdownFlag(false);
    await this.deps.audit.append({ actor, action: 'emergency.lockdown.lift', target: null, ip, outcome: 'success' });
    this.schedule();
  }

  async setSessionsDisabled(disabled: boolean, actor: AuditActor, ip: string | null): Promise<Switch> {
    const now = this.deps.now();
    const next: Switch = disabled ? { active: true, since: now, until: now + SESSIONS_DISABLED_MS, by: actor.username } : OFF;
    await this.save((s) => ({ ...s, sessionsDisabled: next }));
    await this.deps.audit.append({ actor, action: disabled ? 'emergency.sessions.disable' : 'emergency.sessions.enable', target: null, ip, outcome: 'success' });
    this.schedule();
    return next;
  }

  /** Reverts switches whose time is up (audited as done by the system). */
  private async expire(): Promise<void> {
    const now = this.deps.now();
    const { lockdown, sessionsDisabled } = this.state;
    if (lockdown.active && (lockdown.until ?? Infinity) <= now) {
      await this.save((s) => ({ ...s, lockdown: OFF }));
      await this.deps.setLockdownFlag(false);
      await this.deps.audit.append({ actor: null, action: 'emergency.lockdown.expire', target: null, ip: null, outcome: 'success', details: { since: lockdown.since } });
    }
    if (sessionsDisabled.active && (sessionsDisabled.until ?? Infinity) <= now) {
      await this.save((s) => ({ ...s, sessionsDisabled: OFF }));
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

  /** Changes the switches (memory at once, so readers never wait) and writes them, synced, in order. */
  private async save(change: (s: Switches) => Switches): Promise<void> {
    this.state = change(this.state);
    const snapshot = this.state;
    await this.saving.run('state', () => this.db.put('state', snapshot, DURABLE));
  }
}
