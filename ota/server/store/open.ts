// Which store: PostgreSQL when LUCID_FLEET_DATABASE_URL is set (its client, `pg`, is loaded only
// then), LevelDB in <data>/store otherwise.
import { join } from 'node:path';
import type { Logger } from '../../../services/common/log.js';
import type { FleetConfig } from '../config.js';
import type { FleetStore } from './types.js';

export async function openStore(config: Pick<FleetConfig, 'databaseUrl' | 'dataDir' | 'dbPool'>, log: Logger): Promise<FleetStore> {
  if (config.databaseUrl) {
    const { PgFleetStore } = await import('./pg-store.js');
    log.info({ pool: config.dbPool }, 'fleet store: PostgreSQL');
    return new PgFleetStore(config.databaseUrl, config.dbPool);
  }
  const { LevelFleetStore } = await import('./level-store.js');
  log.info({ location: join(config.dataDir, 'store') }, 'fleet store: LevelDB');
  return new LevelFleetStore(join(config.dataDir, 'store'));
}
