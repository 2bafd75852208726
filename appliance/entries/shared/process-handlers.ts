// Signal and crash handling shared by every child entry. Under a supervisor a child ignores
// SIGINT (a terminal's Ctrl-C reaches the whole process group; the supervisor orders the stop)
// and exits when its IPC channel closes.
import type { Logger } from '../../../services/common/log.js';
import type { LifecycleStack } from '../../../services/common/lifecycle.js';
import type { SupervisorLink } from '../../../services/common/supervisor-link.js';

export interface ProcessHandlerDeps {
  readonly log: Logger;
  readonly stack: LifecycleStack;
  readonly link: SupervisorLink;
  readonly deadlineMs: number;
}

export function installProcessHandlers(deps: ProcessHandlerDeps): (why: string, code: number) => Promise<void> {
  let stopping: Promise<void> | null = null;
  const shutdown = (why: string, code: number): Promise<void> => {
    if (stopping) return stopping;
    deps.log.info({ why }, 'stopping');
    const deadline = Date.now() + deps.deadlineMs;
    // Whatever happens to the graceful path, the process is gone by the deadline.
    setTimeout(() => process.exit(code || 1), deps.deadlineMs + 500).unref();
    stopping = deps.stack.stop({ deadline }).finally(() => {
      deps.link.stop();
      process.exit(code);
    });
    return stopping;
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => {
    if (!deps.link.attached) void shutdown('SIGINT', 0);
  });
  process.on('uncaughtException', (err) => {
    deps.log.fatal({ err }, 'uncaught exception');
    void shutdown('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    deps.log.fatal({ err }, 'unhandled rejection');
    void shutdown('unhandled rejection', 1);
  });
  return shutdown;
}
