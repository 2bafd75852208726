// The fleet server's settings: environment variables, checked once, then frozen. A bad value is
// one line naming the key and exit 78 (as on the appliance).
import { resolve } from 'node:path';
import { LOG_LEVELS, type LogLevel } from '../../services/common/log.js';

export interface FleetConfig {
  /** LUCID_FLEET_HOST (default 127.0.0.1; 0.0.0.0 to serve a LAN). */
  readonly host: string;
  /** LUCID_FLEET_PORT (default 8090). */
  readonly port: number;
  /** LUCID_FLEET_DATA_DIR (default ./fleet-data): the LevelDB store, the setup code. */
  readonly dataDir: string;
  /** LUCID_FLEET_DATABASE_URL: postgres://… selects the PostgreSQL store. */
  readonly databaseUrl: string | null;
  /** LUCID_FLEET_DB_POOL (default 10): connections per instance. */
  readonly dbPool: number;
  /** LUCID_FLEET_OFFLINE_S (default 300): a device not seen this long shows as offline. */
  readonly offlineAfterS: number;
  /** LUCID_FLEET_CHECKIN_S (default 60): the check-in interval devices are told (they add ±10 % jitter). */
  readonly checkinIntervalS: number;
  /** LUCID_FLEET_SYNC_S (default 300): how often each channel's release repository is mirrored (0: only on request). */
  readonly syncS: number;
  /** LUCID_FLEET_EVALUATE_MS (default 1000): how often running rollouts are evaluated. */
  readonly evaluateMs: number;
  /** LUCID_FLEET_TLS_CERT / LUCID_FLEET_TLS_KEY: a brought certificate and key (PEM files); absent: the fleet's own (tls.ts). */
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  /** LUCID_FLEET_LOG_LEVEL (default info). */
  readonly logLevel: LogLevel;
}

export type ConfigResult = { ok: true; config: Readonly<FleetConfig> } | { ok: false; key: string; message: string };

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const int = (key: string, def: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw Object.assign(new Error(`must be a whole number in ${min}..${max}, got ${JSON.stringify(raw)}`), { key });
    return n;
  };
  try {
    const url = env['LUCID_FLEET_DATABASE_URL'] || null;
    if (url !== null && !/^postgres(ql)?:\/\//.test(url)) throw Object.assign(new Error('must be a postgres:// URL'), { key: 'LUCID_FLEET_DATABASE_URL' });
    const level = (env['LUCID_FLEET_LOG_LEVEL'] || 'info') as LogLevel;
    if (!LOG_LEVELS.includes(level)) throw Object.assign(new Error(`must be one of ${LOG_LEVELS.join(', ')}`), { key: 'LUCID_FLEET_LOG_LEVEL' });
    const config: FleetConfig = {
      host: env['LUCID_FLEET_HOST'] || '127.0.0.1',
      port: int('LUCID_FLEET_PORT', 8090, 0, 65535),
      dataDir: resolve(env['LUCID_FLEET_DATA_DIR'] || './fleet-data'),
      databaseUrl: url,
      dbPool: int('LUCID_FLEET_DB_POOL', 10, 1, 500),
      offlineAfterS: int('LUCID_FLEET_OFFLINE_S', 300, 1, 30 * 86_400),
      checkinIntervalS: int('LUCID_FLEET_CHECKIN_S', 60, 1, 86_400),
      syncS: int('LUCID_FLEET_SYNC_S', 300, 0, 86_400),
      evaluateMs: int('LUCID_FLEET_EVALUATE_MS', 1000, 50, 600_000),
      tlsCert: env['LUCID_FLEET_TLS_CERT'] ? resolve(env['LUCID_FLEET_TLS_CERT']) : null,
      tlsKey: env['LUCID_FLEET_TLS_KEY'] ? resolve(env['LUCID_FLEET_TLS_KEY']) : null,
      logLevel: level,
    };
    return { ok: true, config: Object.freeze(config) };
  } catch (err) {
    return { ok: false, key: (err as { key?: string }).key ?? 'LUCID_FLEET_*', message: (err as Error).message };
  }
}
