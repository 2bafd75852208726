// Equivocation evidence is stored in LevelDB as it is seen and read back from there, so it
// outlives the process that saw it (issue 18, point 11: "no double-sign" is checked from
// durable data; before, evidence lived only in the memory of the node).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../services/store/index.js';
import { ChainStore, type LevelPort } from '../../../services/ledger/store/chain-store.js';
import { silentLogger } from '../../../services/common/log.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('persisted evidence', () => {
  it('survives a reopen, one entry per validator and step, newest height first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-evidence-'));
    dirs.push(dir);
    const e = (height: number, round: number, kind: 'prevote' | 'precommit' | 'proposal', v = 'ab'.repeat(32)) => ({ validator: v, height, round, kind, first: 'aa', second: 'bb' });
    let store = new Store({ location: join(dir, 'store'), log: silentLogger() });
    await store.start();
    const chain = new ChainStore(store as unknown as LevelPort);
    await Promise.all([chain.putEvidence(e(5, 0, 'prevote')), chain.putEvidence(e(12, 3, 'precommit')), chain.putEvidence(e(5, 0, 'prevote')), chain.putEvidence(e(5, 1, 'proposal', 'cd'.repeat(32)))]);
    await store.stop();
    store = new Store({ location: join(dir, 'store'), log: silentLogger() });
    await store.start();
    const again = await new ChainStore(store as unknown as LevelPort).evidence();
    expect(again.map((x) => `${x.height}/${x.round}/${x.kind}`)).toEqual(['12/3/precommit', '5/1/proposal', '5/0/prevote']);
    await store.stop();
  });
});
