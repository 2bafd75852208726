// The child's side of the supervisor protocol: readiness, heartbeats, requests with replies,
// snapshots and HAL events. A child whose IPC channel closes (the supervisor died, even by
// SIGKILL) stops itself: no orphan survives its supervisor.
import { LucidError } from './errors.js';
import type { Logger } from './log.js';
import type {
  ChildToSupervisor, HalEvent, RequestMap, RequestOp, SupervisorSnapshot, SupervisorToChild,
} from './ipc.js';

export interface SupervisorLinkDeps {
  readonly log: Logger;
  /** Defaults to the real process; tests pass an EventEmitter with send(). */
  readonly channel?: IpcChannel;
  readonly heartbeatMs: number;
  readonly requestTimeoutMs?: number;
  /** Called once when the channel closes; should stop the process's components and exit. */
  readonly onDisconnect: () => void;
}

export interface IpcChannel {
  send?: ((message: unknown) => boolean) | undefined;
  connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export class SupervisorLink {
  private heartbeat: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }>();
  private snapshotValue: SupervisorSnapshot | null = null;
  private readonly snapshotListeners = new Set<(s: SupervisorSnapshot) => void>();
  private readonly eventListeners = new Set<(e: HalEvent) => void>();
  private readonly channel: IpcChannel | undefined;
  private readonly onMessage = (message: unknown): void => this.handle(message);

  constructor(private readonly deps: SupervisorLinkDeps) {
    const channel = deps.channel ?? (process as unknown as IpcChannel);
    this.channel = typeof channel.send === 'function' ? channel : undefined;
  }

  /** True when this process was started by a supervisor (has an IPC channel). */
  get attached(): boolean { return this.channel !== undefined; }

  get snapshot(): SupervisorSnapshot | null { return this.snapshotValue; }

  start(): void {
    if (!this.channel) return;
    this.channel.on('message', this.onMessage);
    this.channel.on('disconnect', () => {
      this.deps.log.warn('supervisor channel closed; stopping');
      this.stop();
      this.deps.onDisconnect();
    });
    this.send({ t: 'heartbeat' });
    this.heartbeat = setInterval(() => this.send({ t: 'heartbeat' }), this.deps.heartbeatMs);
    this.heartbeat.unref();
  }

  ready(): void { this.send({ t: 'ready' }); }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.channel?.off('message', this.onMessage);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new LucidError('SUP_ERR_NOT_CONNECTED'));
      this.pending.delete(id);
    }
  }

  onSnapshot(listener: (s: SupervisorSnapshot) => void): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  onEvent(listener: (e: HalEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  request<Op extends RequestOp>(op: Op, args: RequestMap[Op]['args']): Promise<RequestMap[Op]['result']> {
    if (!this.channel || this.channel.connected === false) {
      return Promise.reject(new LucidError('SUP_ERR_NOT_CONNECTED'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LucidError('SUP_ERR_TIMEOUT', `supervisor did not answer ${op}`));
      }, this.deps.requestTimeoutMs ?? 5000);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ t: 'request', id, op, args });
    });
  }

  private send(message: ChildToSupervisor): void {
    if (!this.channel?.send || this.channel.connected === false) return;
    try {
      this.channel.send(message);
    } catch (err) {
      this.deps.log.debug({ err }, 'ipc send failed');
    }
  }

  private handle(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null) return;
    const message = raw as SupervisorToChild;
    switch (message.t) {
      case 'snapshot':
        this.snapshotValue = message.snapshot;
        for (const l of this.snapshotListeners) l(message.snapshot);
        break;
      case 'event':
        for (const l of this.eventListeners) l(message.event);
        break;
      case 'reply': {
        const p = this.pending.get(message.id);
        if (!p) return;
        this.pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.ok) p.resolve(message.result);
        else p.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
        break;
      }
      default:
        break;
    }
  }
}
