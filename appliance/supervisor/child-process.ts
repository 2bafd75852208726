// The executor's edge: one real child process, started by file path with an IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import type { ChildSpec } from './children.js';
import { LISTENER_COPY, LISTENER_COPY_MAX, LISTENER_COPY_REQUEST } from '../../services/common/ipc.js';

export interface ChildHandlers {
  onMessage(message: unknown): void;
  onExit(code: number | null, signal: string | null): void;
}

export interface ChildHandle {
  readonly pid: number | null;
  send(message: unknown): void;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export type SpawnFn = (spec: ChildSpec, env: Readonly<Record<string, string>>, handlers: ChildHandlers) => ChildHandle;

export const spawnChild: SpawnFn = (spec, env, handlers) => {
  let exited = false;
  const finish = (code: number | null, signal: string | null): void => {
    if (exited) return;
    exited = true;
    handlers.onExit(code, signal);
  };
  let child: ChildProcess;
  try {
    child = fork(spec.entry, [], {
      env: { ...env, ...spec.env, LUCID_CHILD_NAME: spec.name },
      // stdout/stderr are shared: every process logs pino JSON lines carrying its own name.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      execArgv: [...spec.nodeArgs],
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
      ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
    });
  } catch {
    queueMicrotask(() => finish(null, null));
    return { pid: null, send: () => {}, kill: () => {} };
  }
  child.on('message', (m, handle) => {
    if (handle === undefined) handlers.onMessage(m);
    else returnCopies(child, m, handle);
  });
  child.on('exit', (code, signal) => finish(code, signal));
  // 'error' fires when the process could not be spawned or a signal could not be sent.
  child.on('error', () => {
    if (child.pid === undefined) finish(null, null);
  });
  return {
    get pid() { return child.pid ?? null; },
    send(message) {
      if (!child.connected) return;
      child.send(message as never, (err) => { void err; });
    },
    kill(signal) {
      if (!exited) child.kill(signal);
    },
  };
};

/**
 * A child sent a handle: with LISTENER_COPY_REQUEST, its listening socket, wanted back as `count`
 * new descriptors (services/api/accept-handles.ts). Sends them, then closes the supervisor's own
 * copy: the supervisor never accepts on it. Any other handle is closed unused.
 */
function returnCopies(child: ChildProcess, message: unknown, handle: unknown): void {
  const closeOwn = (): void => { (handle as { close?: () => void }).close?.(); };
  const m = message as { t?: unknown; count?: unknown } | null;
  const count = m?.t === LISTENER_COPY_REQUEST ? m.count : 0;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > LISTENER_COPY_MAX || !child.connected) {
    closeOwn();
    return;
  }
  let pending = count;
  for (let i = 0; i < count; i++) {
    const sent = (): void => { if (--pending === 0) closeOwn(); };
    try {
      child.send({ t: LISTENER_COPY } as never, handle as never, sent);
    } catch {
      sent(); // the channel closed meanwhile
    }
  }
}
