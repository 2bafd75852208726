// Every setting of the appliance, in one TypeBox schema. Each key is read from a `LUCID_*`
// environment variable or from the optional JSON config file (`LUCID_CONFIG`), the variable
// winning. The README's configuration table lists exactly these (a test checks it).
import * as Type from '../../services/common/schema.js';
import type { Static } from '../../services/common/schema.js';

const LogLevel = Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)));

export const ExtraChild = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
  entry: Type.String({ minLength: 1 }),
  critical: Type.Optional(Type.Boolean({ description: 'default false' })),
  restart: Type.Optional(Type.Union([Type.Literal('always'), Type.Literal('on-failure'), Type.Literal('never')], { description: 'default always' })),
  after: Type.Optional(Type.Array(Type.String(), { description: 'default []' })),
  env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'default {}' })),
}, { additionalProperties: false });
export type ExtraChild = Static<typeof ExtraChild>;

export const ConfigSchema = Type.Object({
  profile: Type.Union([Type.Literal('dev'), Type.Literal('device')]),
  dataDir: Type.String({ minLength: 1 }),
  host: Type.String({ minLength: 1, pattern: '^[0-9A-Za-z.:\\-\\[\\]]+$' }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  hal: Type.Union([Type.Literal('auto'), Type.Literal('sim'), Type.Literal('pi')]),
  logLevel: LogLevel,
  sysRoot: Type.String({ minLength: 1 }),
  ledSysfs: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_:.\\-]+$' })),
  ledGpio: Type.Array(Type.Integer({ minimum: 0, maximum: 53 })),
  buttonGpio: Type.Union([Type.Integer({ minimum: 0, maximum: 53 }), Type.Null()]),
  watchdogDevice: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  heartbeatMs: Type.Integer({ minimum: 100, maximum: 60000 }),
  stopTimeoutMs: Type.Integer({ minimum: 100, maximum: 600000 }),
  extraChildren: Type.Array(ExtraChild),
  failedRetryMs: Type.Integer({ minimum: 100, maximum: 86_400_000 }),
  failedRetryMaxMs: Type.Integer({ minimum: 100, maximum: 86_400_000 }),
  failedLimitMs: Type.Integer({ minimum: 1000, maximum: 604_800_000 }),
  loopLagLimitMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
  resetConfirmMs: Type.Integer({ minimum: 1000, maximum: 600_000 }),
  authBindIp: Type.Union([Type.Literal('off'), Type.Literal('on')]),
  authMaxSessions: Type.Integer({ minimum: 1, maximum: 100 }),
  wallet: Type.Union([Type.Literal('auto'), Type.Literal('none'), Type.Literal('sim'), Type.Literal('ledger')]),
  peers: Type.Array(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' })),
  p2pPort: Type.Integer({ minimum: 0, maximum: 65535 }),
  slotMs: Type.Integer({ minimum: 100, maximum: 600000 }),
  emptyBlockIntervalS: Type.Integer({ minimum: 0, maximum: 86400 }),
  genesis: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
  mdns: Type.Union([Type.Literal('on'), Type.Literal('off')]),
  sessionQuotaBytes: Type.Integer({ minimum: 65536, maximum: Number.MAX_SAFE_INTEGER }),
  diskReserveBytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  sessionCipher: Type.Union([Type.Literal('auto'), Type.Literal('aes-256-gcm'), Type.Literal('xchacha20-poly1305')]),
  chunkConcurrency: Type.Integer({ minimum: 0, maximum: 64 }),
  apiWriteBatch: Type.Integer({ minimum: 1, maximum: 256 }),
  apiAcceptDescriptors: Type.Integer({ minimum: 1, maximum: 65 }),
}, { additionalProperties: false });

export type Config = Static<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

export type SettingKind = 'string' | 'int' | 'enum' | 'list' | 'int-list' | 'int-or-none' | 'string-or-none' | 'json';

export interface Setting {
  readonly key: ConfigKey;
  readonly env: `LUCID_${string}`;
  readonly kind: SettingKind;
  /** Default as documented; a function when it depends on the profile. */
  readonly default: (profile: Config['profile']) => unknown;
  readonly doc: string;
}

export const SETTINGS: readonly Setting[] = [
  { key: 'profile', env: 'LUCID_PROFILE', kind: 'enum', default: () => 'dev',
    doc: '`dev` or `device`. Default: `device` on a Raspberry Pi (from /proc/device-tree/model), else `dev`.' },
  { key: 'dataDir', env: 'LUCID_DATA_DIR', kind: 'string', default: (p) => (p === 'device' ? '/data' : './data'),
    doc: 'Where every byte the appliance writes lives (LevelDB, keys, chunks). `./data` in dev, `/data` on a device.' },
  { key: 'host', env: 'LUCID_HOST', kind: 'string', default: (p) => (p === 'device' ? '0.0.0.0' : '127.0.0.1'),
    doc: 'Address the API and web UI listen on. `127.0.0.1` in dev, `0.0.0.0` on a device.' },
  { key: 'port', env: 'LUCID_PORT', kind: 'int', default: () => 8080, doc: 'TCP port of the API and web UI.' },
  { key: 'hal', env: 'LUCID_HAL', kind: 'enum', default: () => 'auto',
    doc: '`auto` (real drivers on a Pi, simulated elsewhere), `sim` or `pi`.' },
  { key: 'logLevel', env: 'LUCID_LOG_LEVEL', kind: 'enum', default: () => 'info',
    doc: 'pino level: fatal, error, warn, info, debug, trace, silent.' },
  { key: 'sysRoot', env: 'LUCID_SYS_ROOT', kind: 'string', default: () => '/',
    doc: 'Root under which `/sys` and `/proc` are read (tests point it at a fake tree).' },
  { key: 'ledSysfs', env: 'LUCID_LED_SYSFS', kind: 'list', default: (p) => (p === 'device' ? ['ACT'] : []),
    doc: 'Comma-separated LED names under /sys/class/leds that show the status pattern (`ACT` on a device).' },
  { key: 'ledGpio', env: 'LUCID_LED_GPIO', kind: 'int-list', default: () => [],
    doc: 'Comma-separated BCM GPIO numbers of external status LEDs (driven through onoff).' },
  { key: 'buttonGpio', env: 'LUCID_BUTTON_GPIO', kind: 'int-or-none', default: () => null,
    doc: 'BCM GPIO number of the push button (active low), or `none`.' },
  { key: 'watchdogDevice', env: 'LUCID_WATCHDOG_DEVICE', kind: 'string-or-none', default: () => null,
    doc: 'Hardware watchdog device (e.g. `/dev/watchdog`) the supervisor keeps alive, `sim`, or `none`.' },
  { key: 'heartbeatMs', env: 'LUCID_HEARTBEAT_MS', kind: 'int', default: () => 1000,
    doc: 'Child heartbeat interval; three missed heartbeats kill and restart the child.' },
  { key: 'stopTimeoutMs', env: 'LUCID_STOP_TIMEOUT_MS', kind: 'int', default: () => 10000,
    doc: 'Deadline for a graceful stop of the whole tree before SIGKILL.' },
  { key: 'extraChildren', env: 'LUCID_EXTRA_CHILDREN', kind: 'json', default: () => [],
    doc: 'JSON array of additional supervised children `{name, entry, critical, restart, after, env}` (plugins, tests).' },
  { key: 'failedRetryMs', env: 'LUCID_FAILED_RETRY_MS', kind: 'int', default: () => 60_000,
    doc: 'A child that failed (5 exits in 5 minutes) is started again after this long, the delay doubling after every retry that fails, up to `LUCID_FAILED_RETRY_MAX_MS`: it is never given up on.' },
  { key: 'failedRetryMaxMs', env: 'LUCID_FAILED_RETRY_MAX_MS', kind: 'int', default: () => 900_000,
    doc: 'Longest wait between two retries of a failed child (15 minutes).' },
  { key: 'failedLimitMs', env: 'LUCID_FAILED_LIMIT_MS', kind: 'int', default: () => 900_000,
    doc: 'Under systemd: once a critical child has been failing this long, the supervisor stops sending `WATCHDOG=1`, so systemd restarts the whole appliance (15 minutes).' },
  { key: 'loopLagLimitMs', env: 'LUCID_LOOP_LAG_LIMIT_MS', kind: 'int', default: () => 5000,
    doc: 'Under systemd: a supervisor event-loop turn later than this withholds the next `WATCHDOG=1` (a stuck supervisor must not keep petting).' },
  { key: 'resetConfirmMs', env: 'LUCID_RESET_CONFIRM_MS', kind: 'int', default: () => 30_000,
    doc: 'After a ≥ 10 s press of the button, the time within which a second press confirms the factory reset.' },
  { key: 'authBindIp', env: 'LUCID_AUTH_BIND_IP', kind: 'enum', default: () => 'off',
    doc: '`on` binds every token to the client IP it was issued to (besides the user agent, always bound); `off` by default because LAN clients change address (DHCP, Wi-Fi roaming).' },
  { key: 'authMaxSessions', env: 'LUCID_AUTH_MAX_SESSIONS', kind: 'int', default: () => 5,
    doc: 'Concurrent login sessions per user; a new login beyond it revokes the oldest.' },
  { key: 'wallet', env: 'LUCID_WALLET', kind: 'enum', default: () => 'auto',
    doc: 'Hardware wallet for wallet login: `auto` (simulated Ledger with the simulated HAL, a USB Ledger otherwise), `sim`, `ledger` or `none`.' },
  { key: 'peers', env: 'LUCID_PEERS', kind: 'list', default: () => [],
    doc: 'Comma-separated `host:port` P2P addresses of other nodes of this chain (needs `LUCID_GENESIS`). mDNS finds more on the LAN.' },
  { key: 'p2pPort', env: 'LUCID_P2P_PORT', kind: 'int', default: () => 26656,
    doc: 'TCP port of the consensus transport (WebSocket over TLS 1.3), on `LUCID_HOST`; used only with `LUCID_GENESIS`. 0 picks a free port.' },
  { key: 'slotMs', env: 'LUCID_SLOT_MS', kind: 'int', default: () => 10000,
    doc: 'Block slot in ms (one block per slot; a proposer has half a slot before the next one takes over).' },
  { key: 'emptyBlockIntervalS', env: 'LUCID_EMPTY_BLOCK_INTERVAL_S', kind: 'int', default: () => 3600,
    doc: 'With nothing to put in a block, the chain decides no height until this many seconds after the last block (a liveness heartbeat; a transaction starts a height at the next slot). `0`: a block every slot, empty or not. The chain\'s heartbeat is the shortest of its validators\'. At most 86400.' },
  { key: 'genesis', env: 'LUCID_GENESIS', kind: 'string-or-none', default: () => null,
    doc: 'Path of the chain\'s genesis JSON (made by `./build.sh genesis`). `none`: a standalone one-validator chain made on first boot.' },
  { key: 'mdns', env: 'LUCID_MDNS', kind: 'enum', default: () => 'on',
    doc: '`on` or `off`: find peers of the same chain on the LAN with mDNS (only with `LUCID_GENESIS`).' },
  { key: 'sessionQuotaBytes', env: 'LUCID_SESSION_QUOTA_BYTES', kind: 'int', default: () => 32 * 1024 ** 3,
    doc: 'Largest session in plaintext bytes (the default and the maximum of a session\'s own `quotaBytes`). 32 GiB.' },
  { key: 'diskReserveBytes', env: 'LUCID_DISK_RESERVE_BYTES', kind: 'int', default: (p) => (p === 'device' ? 256 * 1024 ** 2 : 64 * 1024 ** 2),
    doc: 'Free space the chunk store always leaves on its disk; an upload that would eat into it is paused with 507 (at least 1 MiB; `0`: no check, only a real ENOSPC stops an upload). 256 MiB on a device, 64 MiB in dev.' },
  { key: 'sessionCipher', env: 'LUCID_SESSION_CIPHER', kind: 'enum', default: () => 'auto',
    doc: 'Default cipher of new sessions: `auto` (AES-256-GCM where the CPU has AES instructions, else XChaCha20-Poly1305), `aes-256-gcm` or `xchacha20-poly1305`.' },
  { key: 'chunkConcurrency', env: 'LUCID_CHUNK_CONCURRENCY', kind: 'int', default: () => 0,
    doc: 'Chunks compressed and encrypted at once across all uploads (each upload also keeps 2 more being written); `0` = the CPU cores + 1.' },
  { key: 'apiWriteBatch', env: 'LUCID_API_WRITE_BATCH', kind: 'int', default: () => 16,
    doc: 'Most small API answers written together at the end of an event-loop turn (fewer client wake-ups under load; `services/api/write-batch.ts`); `1` writes each at once.' },
  { key: 'apiAcceptDescriptors', env: 'LUCID_API_ACCEPT_DESCRIPTORS', kind: 'int', default: () => 8,
    doc: 'Descriptors of the API\'s listening socket that core accepts on (copies come from the supervisor), so a busy core takes in that many new connections per event-loop turn instead of one (`services/api/accept-handles.ts`); `1`: its own only. At most 65.' },
];

export const CONFIG_FILE_ENV = 'LUCID_CONFIG';
