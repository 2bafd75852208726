// pino everywhere (DESIGN §4.10): one root logger per process, `child({ module })` per component.
// Secrets are redacted by path; add paths here rather than at call sites.
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS: readonly string[] = [
  'password', '*.password', 'newPassword', '*.newPassword',
  'privateKey', '*.privateKey', 'secret', '*.secret', 'seed', '*.seed', 'mnemonic', '*.mnemonic',
  'token', '*.token', 'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken',
  'setupCode', '*.setupCode', 'dataKey', '*.dataKey', 'masterKey', '*.masterKey',
  'passphrase', '*.passphrase', 'args.passphrase', 'apiKey', '*.apiKey', 'tronApiKey', '*.tronApiKey',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RootLoggerOptions {
  /** The process name (supervisor, core, payout, ota-agent); every line carries it. */
  readonly name: string;
  readonly level: LogLevel;
  readonly destination?: DestinationStream;
}

export function createRootLogger(options: RootLoggerOptions): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  // stdout is written synchronously. pino's default (asynchronous) stream flushes what is still
  // buffered with flushSync() when the process exits, and sonic-boom's flushSync retries an
  // EPIPE every 100 ms for ever: a child whose supervisor was SIGKILLed (its stdout's reader
  // gone) logged "stopping", called process.exit and never ended. A synchronous write meets the
  // EPIPE at once, and pino then drops every later line. It also means a line logged just
  // before a crash is not lost in a buffer.
  return pino(config, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
