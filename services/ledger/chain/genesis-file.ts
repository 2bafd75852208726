// Where a node's genesis comes from: LUCID_GENESIS (a multi-node chain's shared file), or the
// standalone one-validator genesis made on first boot and kept beside the chain
// (`<data>/ledger/genesis.json`, 0600). LUCID_PEERS without LUCID_GENESIS is refused: peers
// must share one genesis.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs-atomic.js';
import type { Logger } from '../../common/log.js';
import { parseGenesis, standaloneGenesis, type Genesis } from './genesis.js';

export interface GenesisSource {
  /** LUCID_GENESIS, or null for a standalone chain. */
  readonly genesisPath: string | null;
  readonly peers: readonly string[];
  readonly dataDir: string;
  readonly publicKeyHex: string;
  readonly nodeId: string;
  /** The payout pool a standalone genesis gets when first made (micro-USDT per epoch). */
  readonly payoutPool: number;
  readonly now: number;
  readonly log: Logger;
}

export async function loadGenesis(s: GenesisSource): Promise<Genesis> {
  const path = s.genesisPath;
  if (path !== null) {
    let raw: string;
    try {
      raw = await readFile(path, 'utf8');
    } catch (err) {
      throw new LucidError('LEDGER_ERR_GENESIS_INVALID', `cannot read LUCID_GENESIS ${path}: ${(err as Error).message}`, { path });
    }
    try {
      return parseGenesis(JSON.parse(raw));
    } catch (err) {
      if (err instanceof LucidError) throw new LucidError(err.code, `${path}: ${err.message}`, { path });
      throw new LucidError('LEDGER_ERR_GENESIS_INVALID', `${path} is not JSON`, { path });
    }
  }
  if (s.peers.length > 0) {
    throw new LucidError('LEDGER_ERR_GENESIS_INVALID', 'LUCID_PEERS is set but LUCID_GENESIS is not: peers must share a genesis (make one with `./build.sh genesis`)');
  }
  const own = join(s.dataDir, 'ledger', 'genesis.json');
  if (existsSync(own)) return parseGenesis(JSON.parse(readFileSync(own, 'utf8')));
  const g = standaloneGenesis(s.publicKeyHex, s.nodeId, s.now, s.payoutPool);
  await writeFileAtomic(own, `${JSON.stringify(g, null, 2)}\n`, { mode: 0o600 });
  s.log.info({ chainId: g.chainId }, 'made a standalone one-validator genesis');
  return g;
}

/** The peers' pinned TLS keys (trust on first use); an unreadable file starts over. */
export function readPeerPins(path: string): Map<string, string> {
  const pins = new Map<string, string>();
  if (!existsSync(path)) return pins;
  try {
    for (const [k, v] of Object.entries(JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>)) pins.set(k, v);
  } catch { /* unreadable pins: start over (TOFU) */ }
  return pins;
}

export function writePeerPins(path: string, pins: ReadonlyMap<string, string>): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(Object.fromEntries(pins), null, 2), { mode: 0o600 });
}
