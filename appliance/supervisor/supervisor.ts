// The supervisor: keeps the child table running. Every event (exit, message, tick, stop request)
// re-runs the pure plan and executes its steps here, at the edge. It owns the status LED, the
// button and the watchdogs through ports the entry wires to HAL drivers.
import type { Logger } from '../../services/common/log.js';
import {
  LISTENER_PARK, LISTENERS_REQUEST,
  type ButtonAction, type ChildStatus, type ChildToSupervisor, type ExitInfo, type HalEvent, type LedSnapshot, type LedState, type RequestOp, type SupervisorSnapshot, type SupervisorToChild,
} from '../../services/common/ipc.js';
import type { Lifecycle, StopOptions } from '../../services/common/lifecycle.js';
import type { ChildSpec } from './children.js';
import { startOrder } from './children.js';
import { spawnChild, type ChildHandle, type SpawnFn } from './child-process.js';
import { healthOf, ledStateFor } from './led-state.js';
import { UpdateLocks } from './locks.js';
import { allSettled, describeExit, plan, type ChildState, type Step, type Target } from './plan.js';
import { DEFAULT_TUNING, type RestartTuning } from './restart-policy.js';
import { handleRequest } from './requests.js';
import { FactoryResetButton, type ResetDeps } from './factory-reset.js';
import { WatchdogGate, type GateLimits } from './watchdog-gate.js';

export interface LedPort {
  show(state: LedState): void;
  view(): LedSnapshot;
}

export interface NotifyPort {
  notify(fields: Record<string, string>): Promise<boolean>;
}

export interface WatchdogPort {
  kick(): Promise<void>;
}

/** The API's listening sockets (listeners.ts): handed to the child that asks, answered on while it is gone. */
export interface ListenerPort {
  handOver(to: ChildHandle): Promise<void>;
  park(name: unknown, handle: unknown): void;
  resume(): void;
}

/** Where children's output lines are kept (child-logs.ts). */
export interface OutputPort {
  push(child: string, chunk: Buffer): void;
}

export interface SupervisorDeps {
  readonly log: Logger;
  readonly version: string;
  readonly children: readonly ChildSpec[];
  /** Environment every child gets (the resolved config as LUCID_* variables, PATH, …). */
  readonly childEnv: Readonly<Record<string, string>>;
  readonly led: LedPort;
  readonly notifier: NotifyPort;
  /** The systemd watchdog ping interval (WATCHDOG_USEC / 2), if systemd asked for one. */
  readonly sdWatchdogMs: number | null;
  readonly hardwareWatchdog: WatchdogPort | null;
  readonly hal: SupervisorSnapshot['hal'];
  readonly listeners?: ListenerPort;
  readonly output?: OutputPort;
  readonly spawn?: SpawnFn;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly tuning?: RestartTuning;
  readonly tickMs?: number;
  /** When WATCHDOG=1 is withheld (watchdog-gate.ts). Default: 5 s of loop lag, 15 min failed. */
  readonly watchdogLimits?: GateLimits;
  /** The button's factory reset (factory-reset.ts); without it a ≥ 10 s press is only broadcast. */
  readonly factoryReset?: ResetDeps;
  /**
   * The OTA agent asked to restart into another slot (update.switch): the entry stops the tree
   * and exits with EXIT_SLOT_SWITCH so systemd starts the unit again (its host step picks the slot).
   */
  readonly onSlotSwitch?: (reason: string) => void;
}

export const DEFAULT_WATCHDOG_LIMITS: GateLimits = { maxLagMs: 5000, failedLimitMs: 15 * 60_000 };

/** The supervisor's exit status after update.switch (the unit has RestartForceExitStatus=75). */
export const EXIT_SLOT_SWITCH = 75;

interface Runtime extends ChildState {
  handle: ChildHandle | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class Supervisor implements Lifecycle {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly tuning: RestartTuning;
  private readonly order: string[];
  private readonly runtimes = new Map<string, Mutable<Runtime>>();
  private target: Target = { mode: 'run' };
  private tick: NodeJS.Timeout | undefined;
  private sdWatchdog: WatchdogGate | undefined;
  private readonly resetButton: FactoryResetButton | null;
  private lastLed: LedState | null = null;
  private hwWatchdog: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotDirty = false;
  private bootCompleted = false;
  private readyNotified = false;
  private lastHealth = '';
  private stopWaiters: Array<() => void> = [];
  /** The child that took the API's listening sockets (core), if any. */
  private listenerHolder: string | null = null;
  private readonly startedAt: number;
  readonly locks = new UpdateLocks();
  get buttonSimulated(): boolean { return this.deps.hal.mode === 'sim'; }
  readonly flags: Record<string, boolean> = {};
  /** The child holding the update hand-over (update.prepare), or null. */
  updateHolder: string | null = null;

  constructor(private readonly deps: SupervisorDeps) {
    this.log = deps.log.child({ module: 'supervisor' });
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.tuning = deps.tuning ?? DEFAULT_TUNING;
    this.order = startOrder(deps.children);
    this.resetButton = deps.factoryReset ? new FactoryResetButton(deps.factoryReset, this.log, (child) => this.requestRestart(child)) : null;
    this.startedAt = this.now();
    for (const spec of deps.children) {
      this.runtimes.set(spec.name, {
        spec, phase: 'idle', pid: null, startedAt: null, readyAt: null, lastSeenAt: null, nextStartAt: null,
        restarts: 0, exitTimes: [], lastExit: null, pendingExit: null, killReason: null, signalSent: null,
        failedReason: null, failures: 0, failedSince: null, readyTimeouts: 0, handle: null,
      });
    }
  }

  async start(): Promise<void> {
    this.log.info({ children: this.order }, 'supervisor starting');
    this.deps.led.show('booting');
    this.tick = setInterval(() => this.reconcile(), this.deps.tickMs ?? 250);
    if (this.deps.sdWatchdogMs !== null) {
      const limits = this.deps.watchdogLimits ?? DEFAULT_WATCHDOG_LIMITS;
      this.sdWatchdog = new WatchdogGate({
        ...limits,
        intervalMs: this.deps.sdWatchdogMs,
        children: () => [...this.runtimes.values()].map((r) => this.statusOf(r)),
        ping: () => void this.deps.notifier.notify({ WATCHDOG: '1' }),
        onChange: (verdict) => {
          if (verdict.pet) {
            this.log.info('systemd watchdog: petting again');
            this.lastHealth = ''; // re-send STATUS= with the health
            return;
          }
          this.log.error({ cause: verdict.cause, reason: verdict.reason }, 'systemd watchdog: no longer petting; systemd will restart the appliance');
          void this.deps.notifier.notify({ STATUS: `watchdog withheld: ${verdict.reason}` });
        },
      });
      this.sdWatchdog.start();
    }
    const hw = this.deps.hardwareWatchdog;
    if (hw) {
      // Kicked from the supervisor's own event loop: a wedged supervisor stops kicking and the
      // board reboots (the BCM2835 watchdog fires after ~15 s).
      const kick = (): void => void hw.kick().catch((err: unknown) => this.log.error({ err }, 'watchdog kick failed'));
      kick();
      this.hwWatchdog = setInterval(kick, 1000);
    }
    this.snapshotTimer = setInterval(() => this.broadcastSnapshot(), 2000);
    this.reconcile();
  }

  /** Stops every child in reverse dependency order; SIGKILL for whatever is left at the deadline. */
  async stop(options: StopOptions): Promise<void> {
    if (this.target.mode === 'stop') return this.waitSettled();
    this.log.info({ deadlineMs: options.deadline - this.now() }, 'supervisor stopping');
    void this.deps.notifier.notify({ STOPPING: '1' });
    this.target = { mode: 'stop', deadline: options.deadline };
    this.reconcile();
    await this.waitSettled();
    clearInterval(this.tick);
    this.sdWatchdog?.stop();
    clearInterval(this.hwWatchdog);
    clearInterval(this.snapshotTimer);
  }

  snapshot(): SupervisorSnapshot {
    const children = this.order.map((n) => this.statusOf(this.runtimes.get(n)!));
    const health = healthOf(children);
    return {
      version: this.deps.version,
      pid: process.pid,
      startedAt: this.startedAt,
      healthy: health.healthy,
      reasons: health.reasons,
      children,
      led: this.deps.led.view(),
      locks: this.locks.list(),
      flags: { ...this.flags },
      hal: this.deps.hal,
      at: this.now(),
    };
  }

  /**
   * A button press (the GPIO button, or the simulated one through IPC). It goes to every
   * subscribing child, and drives the factory reset: ≥ 10 s arms it, the next press within the
   * window confirms it (factory-reset.ts).
   */
  pressButton(action: ButtonAction): 'armed' | 'confirmed' | null {
    const now = this.now();
    this.broadcastEvent({ kind: 'button', action, at: now });
    const effect = this.resetButton?.press(action, now) ?? null;
    this.markDirty();
    return effect;
  }

  /** A HAL event (the button) goes to every subscribing child. */
  broadcastEvent(event: HalEvent): void {
    this.log.info({ event }, 'hal event');
    for (const r of this.runtimes.values()) if (r.spec.subscribe) this.send(r, { t: 'event', event });
  }

  /** Called by request handlers: restart one child now (SIGTERM, then start without backoff). */
  requestRestart(name: string): boolean {
    const r = this.runtimes.get(name);
    if (!r) return false;
    if (r.phase === 'failed' || r.phase === 'stopped' || r.phase === 'backoff') {
      Object.assign(r, { phase: 'idle', failedReason: null, exitTimes: [], nextStartAt: null, failures: 0 });
    } else if (r.handle) {
      r.killReason = 'restart-requested';
      r.signalSent = 'SIGTERM';
      r.handle.kill('SIGTERM');
    }
    this.reconcile();
    return true;
  }

  /** Sends a message to the child holding the API's sockets (a re-issued certificate). */
  sendToListenerHolder(message: SupervisorToChild): void {
    const r = this.listenerHolder ? this.runtimes.get(this.listenerHolder) : undefined;
    if (r) this.send(r, message);
  }

  /** update.prepare: once no other child holds a lock, new locks are refused to others. */
  async prepareUpdate(holder: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; holders: Array<{ name: string; holders: string[] }> }> {
    if (this.updateHolder !== null && this.updateHolder !== holder) return { ok: false, holders: [{ name: 'update', holders: [this.updateHolder] }] };
    const free = await this.locks.waitFreeOfOthers(holder, timeoutMs);
    if (!free) return { ok: false, holders: this.locks.heldByOthers(holder) };
    this.updateHolder = holder;
    this.log.info({ holder }, 'update hand-over: new update locks are refused');
    return { ok: true };
  }

  cancelUpdate(holder: string): void {
    if (this.updateHolder === holder) this.updateHolder = null;
  }

  switchSlots(holder: string, reason: string): void {
    this.log.warn({ holder, reason }, 'stopping for a slot switch');
    if (this.deps.onSlotSwitch) queueMicrotask(() => this.deps.onSlotSwitch!(reason));
  }

  setFlag(name: string, value: boolean): void {
    this.flags[name] = value;
    this.markDirty();
  }

  markDirty(): void {
    this.snapshotDirty = true;
    queueMicrotask(() => this.reconcile());
  }

  private reconcile(): void {
    const now = this.now();
    const steps = plan({
      children: [...this.runtimes.values()],
      order: this.order,
      target: this.target,
      now,
      tuning: this.tuning,
      random: this.random(),
      missedHeartbeats: 3,
    });
    for (const step of steps) this.execute(step, now);
    if (steps.length > 0) this.snapshotDirty = true;
    this.updateHealth();
    if (this.snapshotDirty) this.broadcastSnapshot();
    if (this.target.mode === 'stop' && allSettled([...this.runtimes.values()])) {
      const waiters = this.stopWaiters;
      this.stopWaiters = [];
      for (const w of waiters) w();
    }
  }

  private execute(step: Step, now: number): void {
    const r = this.runtimes.get(step.name)!;
    switch (step.kind) {
      case 'start':
        this.spawn(r, now);
        break;
      case 'signal':
        this.log[step.reason === 'stopped' ? 'info' : 'warn']({ child: r.spec.name, pid: r.pid, signal: step.signal, reason: step.reason }, 'signalling child');
        r.killReason = step.reason;
        r.signalSent = step.signal;
        if (this.target.mode === 'stop') r.phase = 'stopping';
        r.handle?.kill(step.signal);
        break;
      case 'schedule':
        this.log.warn({ child: r.spec.name, inMs: step.at - now, exits: step.exitTimes.length }, 'child will restart');
        Object.assign(r, { phase: 'backoff', nextStartAt: step.at, exitTimes: [...step.exitTimes], pendingExit: null });
        break;
      case 'fail':
        this.log.error({ child: r.spec.name, reason: step.reason, failures: step.failures, retryInMs: step.retryAt === null ? null : step.retryAt - now }, 'child failed');
        Object.assign(r, {
          phase: 'failed', failedReason: step.reason, exitTimes: [...step.exitTimes], pendingExit: null, nextStartAt: step.retryAt,
          failures: step.failures, failedSince: r.failedSince ?? now,
        });
        break;
      case 'stable':
        this.log.info({ child: r.spec.name }, 'child stable again: its failure count is reset');
        r.failures = 0;
        break;
      case 'settle':
        Object.assign(r, { phase: step.phase, pendingExit: null, nextStartAt: null });
        break;
    }
  }

  private spawn(r: Mutable<Runtime>, now: number): void {
    const isRestart = r.startedAt !== null;
    // A slow retry keeps failedReason and failedSince until the child is ready: until then the
    // fault stands (LED, /healthz, the watchdog's failed limit).
    if (r.phase === 'failed') this.log.warn({ child: r.spec.name, failures: r.failures }, 'retrying a failed child');
    Object.assign(r, {
      phase: 'starting', startedAt: now, readyAt: null, lastSeenAt: null, nextStartAt: null,
      killReason: null, signalSent: null, pendingExit: null,
      restarts: r.restarts + (isRestart ? 1 : 0),
    });
    const handle = (this.deps.spawn ?? spawnChild)(r.spec, this.deps.childEnv, {
      onMessage: (m, h) => this.onChildMessage(r, handle, m, h),
      onExit: (code, signal) => this.onChildExit(r, handle, code, signal),
      onOutput: (chunk) => this.deps.output?.push(r.spec.name, chunk),
    });
    r.handle = handle;
    r.pid = handle.pid;
    this.log.info({ child: r.spec.name, pid: r.pid, restarts: r.restarts }, 'child started');
  }

  private onChildMessage(r: Mutable<Runtime>, handle: ChildHandle, raw: unknown, sent?: unknown): void {
    const message = raw as ChildToSupervisor | null;
    if (sent !== undefined) {
      // A socket beside a message: only a listener copy coming back from the child that holds them.
      if (r.handle === handle && message?.t === LISTENER_PARK && this.listenerHolder === r.spec.name && this.deps.listeners) this.deps.listeners.park(message.name, sent);
      else (sent as { close?: () => void } | null)?.close?.();
      return;
    }
    if (r.handle !== handle || typeof raw !== 'object' || raw === null || !message) return;
    r.lastSeenAt = this.now();
    if (message.t === LISTENERS_REQUEST) {
      if (!r.spec.servesApi || !this.deps.listeners || this.target.mode !== 'run') {
        this.log.warn({ child: r.spec.name }, 'refused the API sockets to a child that does not serve the API');
        return;
      }
      this.listenerHolder = r.spec.name;
      void this.deps.listeners.handOver(handle).catch((err: unknown) => this.log.warn({ err, child: r.spec.name }, 'could not hand the API sockets over'));
      return;
    }
    if (message.t === 'ready' && r.phase === 'starting') {
      r.phase = 'ready';
      r.readyAt = this.now();
      r.readyTimeouts = 0;
      if (r.failedSince !== null) this.log.warn({ child: r.spec.name, failedForMs: r.readyAt - r.failedSince }, 'failed child recovered');
      r.failedSince = null;
      r.failedReason = null;
      this.log.info({ child: r.spec.name, pid: r.pid, ms: r.readyAt - (r.startedAt ?? r.readyAt) }, 'child ready');
      this.markDirty();
    } else if (message.t === 'request') {
      void handleRequest(this, r.spec.name, message.op as RequestOp, message.args).then(
        (result) => this.send(r, { t: 'reply', id: message.id, ok: true, result }),
        (err: { code?: string; message?: string }) =>
          this.send(r, { t: 'reply', id: message.id, ok: false, error: { code: err.code ?? 'SUP_ERR_INTERNAL', message: err.message ?? String(err) } }),
      );
    }
  }

  private onChildExit(r: Mutable<Runtime>, handle: ChildHandle, code: number | null, signal: string | null): void {
    if (r.handle !== handle) return;
    const at = this.now();
    const reason = r.killReason ?? (signal ? 'crash' : 'exit');
    const exit: ExitInfo = { code, signal, reason, at };
    this.log[r.killReason === 'stopped' ? 'info' : 'warn']({ child: r.spec.name, pid: r.pid, exit: describeExit(exit) }, 'child exited');
    Object.assign(r, { pendingExit: exit, lastExit: exit, pid: null, handle: null, readyAt: null });
    if (reason === 'ready-timeout') r.readyTimeouts = (r.readyTimeouts ?? 0) + 1;
    this.locks.releaseAll(r.spec.name);
    if (this.listenerHolder === r.spec.name) {
      this.listenerHolder = null;
      if (this.target.mode === 'run') this.deps.listeners?.resume();
    }
    if (this.updateHolder === r.spec.name) this.updateHolder = null;
    this.reconcile();
  }

  private send(r: Runtime, message: SupervisorToChild): void {
    r.handle?.send(message);
  }

  private broadcastSnapshot(): void {
    this.snapshotDirty = false;
    const snapshot = this.snapshot();
    for (const r of this.runtimes.values()) {
      if (r.spec.subscribe && r.phase !== 'idle') this.send(r, { t: 'snapshot', snapshot });
    }
  }

  private updateHealth(): void {
    const children = [...this.runtimes.values()].map((r) => this.statusOf(r));
    const { healthy, reasons } = healthOf(children);
    if (healthy) this.bootCompleted = true;
    const resetPending = this.resetButton?.pending(this.now()) ?? false;
    if (this.target.mode === 'run') {
      const led = ledStateFor({
        children, bootCompleted: this.bootCompleted, flags: this.flags, heldLocks: this.locks.list().map((l) => l.name), resetPending,
      });
      if (led !== this.lastLed) {
        this.log.info({ led, from: this.lastLed }, 'status led');
        this.lastLed = led;
        this.snapshotDirty = true;
      }
      this.deps.led.show(led);
    }
    const key = `${healthy}|${reasons.join(';')}`;
    if (key === this.lastHealth) return;
    this.lastHealth = key;
    this.snapshotDirty = true;
    if (healthy && !this.readyNotified) {
      this.readyNotified = true;
      this.log.info({ ms: this.now() - this.startedAt }, 'appliance ready');
      void this.deps.notifier.notify({ READY: '1', STATUS: 'ready' });
    } else {
      void this.deps.notifier.notify({ STATUS: healthy ? 'ready' : `degraded: ${reasons.join('; ')}` });
    }
  }

  private statusOf(r: Runtime): ChildStatus {
    return {
      name: r.spec.name, critical: r.spec.critical, phase: r.phase, pid: r.pid, restarts: r.restarts,
      startedAt: r.startedAt, readyAt: r.readyAt, nextStartAt: r.nextStartAt, lastExit: r.lastExit, failedReason: r.failedReason,
      failedSince: r.failedSince,
    };
  }

  private waitSettled(): Promise<void> {
    if (allSettled([...this.runtimes.values()])) return Promise.resolve();
    return new Promise((resolve) => this.stopWaiters.push(resolve));
  }
}
