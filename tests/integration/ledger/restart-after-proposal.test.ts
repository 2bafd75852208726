// Found by the power-cut loop (tests/vm/power-cuts.test.ts): a standalone appliance whose power
// was cut after its proposal for the next height was made durable in the sign guard, but before
// the block was committed, never produced another block. After the restart the engine resumed in
// that round, built a new block (another time, other transactions), the guard refused to sign a
// second proposal for the round — right — and the proposer, which schedules no propose timeout,
// waited for ever. Here the same state is made by hand on a real appliance: killed, a proposal
// for the next height recorded in its guard with bytes it will never build again, restarted.
// The chain must carry on (a later round) without signing any step two ways.
// A chain without LUCID_GENESIS keeps its sign records in memory (services/ledger/README.md: its
// messages never leave the process before their block is durable), so this runs a one-validator
// chain from a genesis file, whose guard is on disk as on any chain with peers, deciding a
// height every slot (LUCID_EMPTY_BLOCK_INTERVAL_S=0).
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { startAppliance, treePids, ROOT, type RunningAppliance } from '../../helpers/appliance.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { silentLogger } from '../../../services/common/log.js';
import { FileGuardStorage } from '../../../services/ledger/consensus/guard-file.js';
import { SignGuard, SIGN_STEP } from '../../../services/ledger/consensus/sign-guard.js';
import { findDoubleSigns, guardRecords, storedSignatures } from './guard-checks.js';

const SLOT = 1000;
let env: Record<string, string> = {};
let app: RunningAppliance | undefined;
let dataDir: string | undefined;

async function kill(a: RunningAppliance): Promise<void> {
  for (const pid of treePids(a.pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  await a.exited();
}

const status = async (a: RunningAppliance): Promise<{ height: number; chainId: string; consensus: { height: number; round: number } }> =>
  (await a.raw('/api/v1/ledger/status')).json();

afterEach(async () => {
  if (app) await kill(app);
  app = undefined;
  if (dataDir) await rm(join(dataDir, '..'), { recursive: true, force: true });
});

async function oneValidatorChain(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'lucid-restart-proposal-'));
  const dir = join(root, 'data');
  await loadOrCreateNodeIdentity(dir, silentLogger());
  const genesis = join(root, 'genesis.json');
  execFileSync(process.execPath, [join(ROOT, 'dist/entries/genesis.mjs'), '--chain-id', 'it-restart', '--data-dir', dir, '--out', genesis]);
  env = {
    LUCID_SLOT_MS: String(SLOT), LUCID_LOG_LEVEL: 'warn', LUCID_GENESIS: genesis, LUCID_P2P_PORT: '0',
    LUCID_MDNS: 'off', LUCID_EMPTY_BLOCK_INTERVAL_S: '0',
  };
  return dir;
}

describe('a lone validator after a crash between its proposal and the commit', () => {
  it('carries on in a later round instead of waiting for ever on the proposal it cannot re-send', async () => {
    dataDir = await oneValidatorChain();
    app = await startAppliance({ env, dataDir });
    await app.waitHealthy(60_000);
    const first = await app.waitFor('height 2', async () => { const s = await status(app!); return s.height >= 2 ? s : undefined; }, 30_000);
    const nodeKey = ((await (await app.raw('/api/v1/node')).json()) as { publicKey: string }).publicKey;
    await kill(app);
    app = undefined;
    // The next height's proposal, durable in the guard: what a cut right after signing leaves.
    const head = (await storedSignatures(dataDir, first.chainId)).height;
    const storage = new FileGuardStorage(join(dataDir, 'ledger'));
    const guard = new SignGuard(storage, () => Buffer.alloc(64, 7));
    const last = guard.last;
    const sameHeight = last !== null && last.height === head + 1;
    const round = sameHeight ? last.round + 1 : 0;
    const signed = guard.sign({
      height: head + 1, round, step: SIGN_STEP.proposal, signBytes: Buffer.from('a proposal whose block was lost with the power'),
      lockedRound: sameHeight ? last.lockedRound : -1, lockedId: sameHeight ? last.lockedId : null,
    });
    storage.close();
    expect(signed.kind).toBe('signed');
    app = await startAppliance({ env, dataDir });
    await app.waitHealthy(60_000);
    // Without the fix the node sits at (head + 1, round) in step propose for good.
    const after = await app.waitFor(`height ${head + 2}`, async () => { const s = await status(app!); return s.height >= head + 2 ? s : undefined; }, 20 * SLOT);
    expect(after.height).toBeGreaterThanOrEqual(head + 2);
    await kill(app);
    app = undefined;
    const stored = await storedSignatures(dataDir, first.chainId);
    // The block at head + 1 was decided in a later round than the recorded proposal's.
    expect(stored.signatures.filter((s) => s.height === head + 1).every((s) => s.round > round)).toBe(true);
    expect(stored.badSignatures).toBe(0);
    const records = guardRecords(dataDir).map((r) => ({ ...r, key: nodeKey }));
    expect(findDoubleSigns(records, stored.signatures, first.chainId)).toEqual([]);
  }, 120_000);
});
