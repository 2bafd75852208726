// The settings the OTA agent needs, read from the environment its supervisor gives it. The
// supervisor validated the whole configuration at boot (TypeBox, appliance/config) and hands
// every child the result as LUCID_* variables (configToEnv), so the supervised agent does not
// load the validator again (TypeBox and its compiled schemas: ~2 MB of an idle agent's heap,
// whose RSS is a budget — `./build.sh bench ota`). Run alone (no supervisor), the agent loads
// and validates the configuration itself, like every entry.
export interface OtaAgentSettings {
  readonly dataDir: string;
  readonly logLevel: string;
  readonly heartbeatMs: number;
  readonly stopTimeoutMs: number;
  readonly otaUrl: string | null;
  readonly otaIntervalS: number | null;
  readonly otaChannel: string;
  readonly otaSoakS: number;
  readonly otaHealthTimeoutS: number;
  readonly otaAutoInstall: 'on' | 'off';
  readonly otaHostDir: string | null;
  readonly otaBundleDir: string | null;
  readonly otaTrustRoot: string | null;
  readonly fleetUrl: string | null;
  readonly fleetToken: string | null;
}

class EnvError extends Error {}

/** The settings from a supervisor-made environment; throws naming the variable if one is off. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): OtaAgentSettings {
  const need = (k: string): string => {
    const v = env[k];
    if (v === undefined || v === '') throw new EnvError(`${k} is not set (the supervisor sets every LUCID_* variable)`);
    return v;
  };
  const int = (k: string): number => {
    const v = need(k);
    if (!/^\d+$/.test(v)) throw new EnvError(`${k}: must be an integer (got ${JSON.stringify(v)})`);
    return Number(v);
  };
  const orNone = (k: string): string | null => (env[k] === undefined || env[k] === '' || env[k] === 'none' ? null : env[k]!);
  const interval = orNone('LUCID_OTA_INTERVAL_S');
  if (interval !== null && !/^\d+$/.test(interval)) throw new EnvError(`LUCID_OTA_INTERVAL_S: must be an integer (got ${JSON.stringify(interval)})`);
  const auto = need('LUCID_OTA_AUTO_INSTALL');
  if (auto !== 'on' && auto !== 'off') throw new EnvError('LUCID_OTA_AUTO_INSTALL: must be one of on|off');
  return {
    dataDir: need('LUCID_DATA_DIR'),
    logLevel: need('LUCID_LOG_LEVEL'),
    heartbeatMs: int('LUCID_HEARTBEAT_MS'),
    stopTimeoutMs: int('LUCID_STOP_TIMEOUT_MS'),
    otaUrl: orNone('LUCID_OTA_URL'),
    otaIntervalS: interval === null ? null : Number(interval),
    otaChannel: need('LUCID_OTA_CHANNEL'),
    otaSoakS: int('LUCID_OTA_SOAK_S'),
    otaHealthTimeoutS: int('LUCID_OTA_HEALTH_TIMEOUT_S'),
    otaAutoInstall: auto,
    otaHostDir: orNone('LUCID_OTA_HOST_DIR'),
    otaBundleDir: orNone('LUCID_OTA_BUNDLE_DIR'),
    otaTrustRoot: orNone('LUCID_OTA_TRUST_ROOT'),
    fleetUrl: orNone('LUCID_FLEET_URL'),
    fleetToken: orNone('LUCID_FLEET_TOKEN'),
  };
}

/** Supervised: from the environment; alone: the full, validated configuration. */
export async function loadAgentSettings(): Promise<OtaAgentSettings> {
  if (typeof process.send === 'function') {
    try {
      return settingsFromEnv(process.env);
    } catch (err) {
      process.stderr.write(`lucid: invalid configuration: ${(err as Error).message}\n`);
      process.exit(78);
    }
  }
  const { loadConfigOrExit } = await import('../../config/index.js');
  return loadConfigOrExit();
}
