// Reads settings from the environment and an optional JSON file, validates them once against
// the schema and freezes the result. Errors name the setting: one line, then exit 78 (EX_CONFIG).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
// typebox/schema is TypeBox's plain JSON-Schema checker: ~50 KB bundled, where typebox/compile
// costs ~300 KB and several MB of RSS in every process that loads config.
import { Errors } from 'typebox/schema';
import { ConfigSchema, SETTINGS, CONFIG_FILE_ENV, type Config, type Setting } from './schema.js';

export const EXIT_CONFIG = 78;

export type ConfigResult = { ok: true; config: Readonly<Config> } | { ok: false; key: string; message: string };

export interface LoadSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
  /** Whether this machine is a Raspberry Pi (decides the default profile). */
  readonly isPi?: () => boolean;
}


export function detectRaspberryPi(sysRoot = '/'): boolean {
  try {
    const model = join(sysRoot, 'proc/device-tree/model');
    return existsSync(model) && readFileSync(model, 'utf8').startsWith('Raspberry Pi');
  } catch {
    return false;
  }
}

class SettingError extends Error {
  constructor(readonly key: string, message: string) { super(message); }
}

function parseEnv(setting: Setting, raw: string): unknown {
  const fail = (why: string): never => { throw new SettingError(setting.env, `${why} (got ${JSON.stringify(raw)})`); };
  const int = (s: string): number => {
    if (!/^-?\d+$/.test(s.trim())) fail('must be an integer');
    return Number(s.trim());
  };
  switch (setting.kind) {
    case 'string':
    case 'enum':
      return raw;
    case 'int':
      return int(raw);
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'int-list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(int);
    case 'int-or-none':
      return raw === '' || raw === 'none' ? null : int(raw);
    case 'string-or-none':
      return raw === '' || raw === 'none' ? null : raw;
    case 'json':
      try { return JSON.parse(raw); } catch { return fail('must be valid JSON'); }
  }
}


function allowedValues(key: string): string | null {
  const prop = (ConfigSchema.properties as Record<string, { anyOf?: Array<{ const?: unknown }> }>)[key];
  const values = prop?.anyOf?.map((s) => s.const).filter((v) => v !== undefined);
  return values && values.length > 0 ? values.join('|') : null;
}

export function loadConfig(sources: LoadSources): ConfigResult {
  const readFile = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let fileValues: Record<string, unknown> = {};
  const configPath = sources.env[CONFIG_FILE_ENV];
  if (configPath) {
    try {
      const parsed: unknown = JSON.parse(readFile(configPath));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return { ok: false, key: CONFIG_FILE_ENV, message: `${configPath} must hold a JSON object` };
      }
      fileValues = parsed as Record<string, unknown>;
    } catch (err) {
      return { ok: false, key: CONFIG_FILE_ENV, message: `cannot read ${configPath}: ${(err as Error).message}` };
    }
    const known = new Set(SETTINGS.map((s) => s.key as string));
    const unknown = Object.keys(fileValues).find((k) => !known.has(k));
    if (unknown) return { ok: false, key: CONFIG_FILE_ENV, message: `unknown setting "${unknown}" in ${configPath}` };
  }

  const values: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  try {
    // The profile comes first: other defaults depend on it.
    for (const setting of SETTINGS) {
      const raw = sources.env[setting.env];
      if (raw !== undefined) {
        values[setting.key] = parseEnv(setting, raw);
        origin[setting.key] = setting.env;
      } else if (setting.key in fileValues) {
        values[setting.key] = fileValues[setting.key];
        origin[setting.key] = `${setting.env} (${setting.key} in ${configPath})`;
      } else if (setting.key === 'profile') {
        values['profile'] = (sources.isPi ?? detectRaspberryPi)() ? 'device' : 'dev';
        origin['profile'] = setting.env;
      } else {
        values[setting.key] = setting.default(values['profile'] as Config['profile']);
        origin[setting.key] = setting.env;
      }
    }
  } catch (err) {
    if (err instanceof SettingError) return { ok: false, key: err.key, message: err.message };
    throw err;
  }

  const [valid, errors] = Errors(ConfigSchema, values);
  if (!valid) {
    const first = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
    const key = first?.instancePath.split('/')[1] ?? '';
    const setting = SETTINGS.find((s) => s.key === key);
    const name = origin[key] ?? setting?.env ?? key;
    const got = JSON.stringify(values[key]);
    let why = first ? first.message : 'is invalid';
    if (first && (first.keyword === 'anyOf' || first.keyword === 'const') && allowedValues(key)) {
      why = `must be one of ${allowedValues(key)}`;
    } else if (first && first.instancePath.split('/').length > 2) {
      why = `${first.instancePath.split('/').slice(2).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')} ${first.message}`;
    }
    return { ok: false, key: name, message: `${why} (got ${got})` };
  }
  // Peers only make sense on a shared chain: without a genesis the node would make its own.
  if ((values['peers'] as unknown[]).length > 0 && values['genesis'] === null) {
    return { ok: false, key: origin['peers'] ?? 'LUCID_PEERS', message: 'needs LUCID_GENESIS: peers must share a genesis (make one with `./build.sh genesis`)' };
  }
  if (values['httpsPort'] === values['port']) {
    return { ok: false, key: origin['httpsPort'] ?? 'LUCID_HTTPS_PORT', message: `must differ from LUCID_PORT (both ${String(values['port'])})` };
  }
  return { ok: true, config: deepFreeze(values as Config) };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** For entries: load or print one line naming the key and exit 78. Starts nothing on failure. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const result = loadConfig({ env });
  if (!result.ok) {
    process.stderr.write(`lucid: invalid configuration: ${result.key}: ${result.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  return result.config;
}

/** The settings as LUCID_* variables, so a child process loads exactly the parent's config. */
export function configToEnv(config: Readonly<Config>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = config[s.key];
    if (v === null) env[s.env] = 'none';
    else if (s.kind === 'json') env[s.env] = JSON.stringify(v);
    else if (Array.isArray(v)) env[s.env] = v.join(',');
    else env[s.env] = String(v);
  }
  return env;
}
