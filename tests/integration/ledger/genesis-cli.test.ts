// The genesis CLI as an operator runs it (dist/entries/genesis.mjs): keys from data directories,
// names that fit the genesis document however long the path, and a clear error with exit code 2.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/appliance.js';
import { loadOrCreateNodeIdentity } from '../../../services/identity/index.js';
import { silentLogger } from '../../../services/common/log.js';

const root = mkdtempSync(join(tmpdir(), 'lucid-genesis-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function genesis(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/entries/genesis.mjs'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('genesis CLI', () => {
  it('takes keys from data directories; a path over 64 characters is named by its end', async () => {
    const long = join(root, 'operators-long-named-mount-point', 'appliance-in-the-back-office-rack-2');
    const short = join(root, 'b');
    mkdirSync(long, { recursive: true });
    const a = await loadOrCreateNodeIdentity(long, silentLogger());
    const b = await loadOrCreateNodeIdentity(short, silentLogger());
    expect(long.length).toBeGreaterThan(64);

    const r = genesis(['--chain-id', 'cli-test', '--data-dir', long, '--data-dir', `${short}:3`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { chainId: string; validators: Array<{ publicKey: string; power: number; name?: string }> };
    expect(doc.chainId).toBe('cli-test');
    const byKey = new Map(doc.validators.map((v) => [v.publicKey, v]));
    expect(byKey.get(a.publicKeyHex)).toMatchObject({ power: 1, name: `…${long.slice(-63)}` });
    expect(byKey.get(a.publicKeyHex)!.name).toHaveLength(64);
    expect(byKey.get(b.publicKeyHex)).toMatchObject({ power: 3, name: short });
  });

  it('names a data directory without a node key and exits 2', () => {
    const empty = join(root, 'never-booted');
    mkdirSync(empty);
    const r = genesis(['--chain-id', 'cli-test', '--data-dir', empty]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`cannot read ${join(empty, 'keys')}`);
    expect(r.stderr).toContain('start the appliance once');
  });
});
