// The executor's edge: one real child process, started by file path with an IPC channel. Its
// stdout and stderr pass through the supervisor (to the supervisor's own, unchanged) so that the
// last lines of a failing child can be shown while it is down (recovery page).
import { fork, type ChildProcess } from 'node:child_process';
import type { ChildSpec } from './children.js';

export interface ChildHandlers {
  /** A message; `handle` is a socket or server handle that came beside it (listeners.ts), if any. */
  onMessage(message: unknown, handle?: unknown): void;
  onExit(code: number | null, signal: string | null): void;
  /** Bytes the child wrote to stdout or stderr (already passed on to the supervisor's own). */
  onOutput?(chunk: Buffer): void;
}

export interface ChildHandle {
  readonly pid: number | null;
  send(message: unknown): void;
  /** Sends a handle (a listening socket) beside a message; resolves once it went out, rejects if it could not. */
  sendHandle(message: unknown, handle: unknown): Promise<void>;
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
      // Every process logs pino JSON lines carrying its own name; the supervisor passes them on.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      execArgv: [...spec.nodeArgs],
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
      ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
    });
  } catch {
    queueMicrotask(() => finish(null, null));
    return { pid: null, send: () => {}, sendHandle: () => Promise.reject(new Error('not started')), kill: () => {} };
  }
  const pass = (to: NodeJS.WriteStream) => (chunk: Buffer): void => {
    to.write(chunk);
    handlers.onOutput?.(chunk);
  };
  child.stdout!.on('data', pass(process.stdout));
  child.stderr!.on('data', pass(process.stderr));
  child.on('message', (m, handle) => handlers.onMessage(m, handle));
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
    sendHandle(message, handle) {
      return new Promise((resolve, reject) => {
        if (!child.connected) return reject(new Error('the channel is closed'));
        try {
          child.send(message as never, handle as never, (err) => (err ? reject(err) : resolve()));
        } catch (err) {
          reject(err as Error);
        }
      });
    },
    kill(signal) {
      if (!exited) child.kill(signal);
    },
  };
};
