// systemd notification (sd_notify(3)): READY=1 once the supervisor is up, WATCHDOG=1 as a
// keep-alive, STATUS=… for `systemctl status`. NOTIFY_SOCKET is a unix datagram socket, which
// Node cannot open, so the sending is done by the tiny N-API addon in ./sd-notify/native. The
// addon is optional: without it (not built, wrong arch) notify() reports once and returns false,
// and the appliance still runs — systemd then only sees the process start, not readiness.
import { createRequire } from 'node:module';
import { describeError } from '../errors.js';

export interface SdNotifyAddon {
  send(path: string, message: string): void;
}

export interface SdNotifierOptions {
  /** The NOTIFY_SOCKET value; undefined/empty when not started by systemd (then a no-op). */
  readonly socketPath: string | undefined;
  /** Loads the addon. Default: the `lucid-sd-notify` package, else the in-tree build. */
  readonly load?: () => Promise<SdNotifyAddon>;
  /** Told once when the addon cannot be loaded, and once per streak of failed sends. */
  readonly onError?: (err: unknown) => void;
}

export interface SdNotifier {
  /** True while notifications can be sent: a socket is set and the addon has not failed. */
  readonly available: boolean;
  /**
   * Sends KEY=value lines in one datagram. Resolves true when sent, false otherwise; it never
   * rejects (callers fire it with `void` from timers), failures go to onError.
   */
  notify(fields: Readonly<Record<string, string>>): Promise<boolean>;
}

/**
 * Formats fields as sd_notify expects: `READY=1\nSTATUS=…`. A newline or NUL inside a value
 * would smuggle in another field (a STATUS text ending "\nSTOPPING=1"), so they become spaces;
 * a malformed field name is a programming error and throws.
 */
export function formatNotifyMessage(fields: Readonly<Record<string, string>>): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new TypeError(`invalid sd_notify field name: ${key}`);
    lines.push(`${key}=${String(value).replace(/[\n\r\0]/g, ' ')}`);
  }
  if (lines.length === 0) throw new TypeError('sd_notify needs at least one field');
  return lines.join('\n');
}

async function defaultLoad(): Promise<SdNotifyAddon> {
  const require = createRequire(import.meta.url);
  try {
    // Installed as an optionalDependency (file:hal/system/sd-notify/native) in builds.
    return require('lucid-sd-notify') as SdNotifyAddon;
  } catch (packageErr) {
    try {
      // A development tree where the addon was built in place but not installed.
      return require('./sd-notify/native/index.js') as SdNotifyAddon;
    } catch {
      throw packageErr;
    }
  }
}

class Notifier implements SdNotifier {
  private addon: Promise<SdNotifyAddon | null> | null = null;
  private loadFailed = false;
  private sendFailing = false;

  constructor(private readonly options: SdNotifierOptions) {}

  get available(): boolean {
    return this.socketPath() !== null && !this.loadFailed;
  }

  async notify(fields: Readonly<Record<string, string>>): Promise<boolean> {
    const socketPath = this.socketPath();
    if (socketPath === null) return false;
    let message: string;
    try {
      message = formatNotifyMessage(fields);
    } catch (err) {
      this.report(err);
      return false;
    }
    const addon = await this.loadOnce();
    if (addon === null) return false;
    try {
      addon.send(socketPath, message);
      this.sendFailing = false;
      return true;
    } catch (err) {
      // systemd restarting or a stale NOTIFY_SOCKET fails every WATCHDOG=1 ping; say it once.
      if (!this.sendFailing) this.report(err);
      this.sendFailing = true;
      return false;
    }
  }

  private socketPath(): string | null {
    const path = this.options.socketPath;
    return path === undefined || path === '' ? null : path;
  }

  private loadOnce(): Promise<SdNotifyAddon | null> {
    this.addon ??= (this.options.load ?? defaultLoad)().then(
      (addon) => {
        if (typeof addon?.send !== 'function') throw new TypeError('sd-notify addon has no send()');
        return addon;
      },
    ).catch((err: unknown) => {
      this.loadFailed = true;
      this.report(new Error(`sd_notify addon unavailable, systemd will not see readiness: ${describeError(err)}`, { cause: err }));
      return null;
    });
    return this.addon;
  }

  private report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // A failing log hook must not turn a best-effort notification into a crash.
    }
  }
}

export function createSdNotifier(options: SdNotifierOptions): SdNotifier {
  return new Notifier(options);
}

/**
 * How often to send WATCHDOG=1, from the environment systemd gives a service with WatchdogSec=:
 * half of WATCHDOG_USEC (sd_watchdog_enabled(3) recommends pinging at half the timeout), in ms.
 * Null when the watchdog is off, the value is malformed, or WATCHDOG_PID names another process
 * (the variables were inherited from a parent and are not meant for us).
 */
export function parseWatchdogUsec(env: Readonly<Record<string, string | undefined>>, pid: number = process.pid): number | null {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText.trim())) return null;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText.trim() !== '') {
    if (!/^\d+$/.test(pidText.trim()) || Number(pidText.trim()) !== pid) return null;
  }
  const usec = Number(usecText.trim());
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  // Never below 1 ms: a timer of 0 would spin.
  return Math.max(1, Math.floor(usec / 2000));
}
