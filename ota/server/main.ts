// `./build.sh fleet`: the fleet server on embedded defaults (LevelDB in ./fleet-data, web UI and
// API over HTTPS on 127.0.0.1:8090, its certificate in tls.ts; LUCID_FLEET_* settings in
// config.ts; a bad setting or TLS pair: one line, exit 78). The log prints a setup code for the
// first admin while there is none. SIGTERM/SIGINT stop it.
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { createRootLogger } from '../../services/common/log.js';
import { TlsPairError } from '../../services/common/x509/pair.js';
import { loadFleetConfig } from './config.js';
import { FleetServer } from './server.js';

declare const LUCID_BUILD: { version: string } | undefined;

const loaded = loadFleetConfig();
if (!loaded.ok) {
  process.stderr.write(`fleet: bad setting ${loaded.key}: ${loaded.message}\n`);
  process.exit(78);
}
const log = createRootLogger({ name: 'fleet', level: loaded.config.logLevel });
const web = fileURLToPath(new URL('./web/', import.meta.url));
const server = new FleetServer(loaded.config, log, { webRoot: existsSync(web) ? web : null, version: typeof LUCID_BUILD !== 'undefined' ? LUCID_BUILD.version : 'dev' });

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'fleet server stopping');
  const hard = setTimeout(() => process.exit(1), 10_000);
  hard.unref();
  void server.stop().then(() => process.exit(0), (err: unknown) => { log.error({ err }, 'stop failed'); process.exit(1); });
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

server.start().catch((err: unknown) => {
  if (err instanceof TlsPairError) {
    process.stderr.write(`fleet: bad setting ${err.key}: ${err.message}\n`);
    process.exit(78);
  }
  log.fatal({ err, code: (err as { code?: string }).code }, 'fleet server failed to start');
  process.exit(1);
});
