// One crash image, checked: its file system recovered (crash-image.ts), the appliance started on
// it natively on the host (the same dist/ the image ships, real LevelDB, real HTTP) — the boot
// after the cut, minus the emulation that would make it cost a minute — then the API checks and,
// once the appliance is gone, the offline chain checks (check.ts).
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { VM_CACHE } from '../harness/cache.js';
import { startAppliance, treePids } from '../../helpers/appliance.js';
import { guardRecords } from '../../integration/ledger/guard-checks.js';
import { checkAcks, checkChain, type AckStats } from './check.js';
import { recoverImage } from './crash-image.js';
import type { Acks } from './workload.js';

async function keep(workDir: string, cut: number): Promise<void> {
  const to = join(VM_CACHE, 'power-failed', `${new Date().toISOString().replace(/[:.]/g, '-')}-cut-${cut}`);
  await mkdir(dirname(to), { recursive: true });
  await rename(workDir, to).catch(() => {});
}

export interface CutResult {
  readonly cut: number;
  readonly kind: 'snapshot' | 'kill';
  readonly problems: string[];
  readonly stats?: AckStats;
  readonly fsckCode: number;
  readonly seconds: number;
}

export async function verifyImage(cut: number, kind: CutResult['kind'], image: string, workDir: string, acks: Acks, env: Record<string, string>): Promise<CutResult> {
  const t0 = performance.now();
  const seconds = (): number => Math.round((performance.now() - t0) / 100) / 10;
  const problems: string[] = [];
  const rec = await recoverImage(image, join(workDir, 'data'));
  if (rec.fsckCode >= 4) {
    problems.push(`e2fsck exit ${rec.fsckCode}: ${rec.fsckOutput.slice(-1500)}`);
    await keep(workDir, cut);
    return { cut, kind, problems, fsckCode: rec.fsckCode, seconds: seconds() };
  }
  const guardBefore = guardRecords(rec.dataDir);
  const app = await startAppliance({ dataDir: rec.dataDir, env: { ...env, LUCID_LOG_LEVEL: 'info' } });
  let stats: AckStats | undefined;
  let nodeKey = '';
  let chainId = '';
  try {
    await app.waitHealthy(120_000);
    nodeKey = ((await (await app.raw('/api/v1/node')).json()) as { publicKey: string }).publicKey;
    const checked = await checkAcks(app.url, await app.token(), acks, { deep: true });
    problems.push(...checked.problems);
    stats = checked.stats;
    // The node signs on from the recovered state: past every height seen before the cut, so a
    // lost sign record would show as a second signature for a step already signed.
    const target = Math.max(0, ...Object.keys(acks.blocks).map(Number)) + 2;
    let last: unknown = null;
    try {
      const st = await app.waitFor(`chain height ${target}`, async () => {
        const s = (await (await app.raw('/api/v1/ledger/status')).json()) as { height: number; chainId: string };
        last = s;
        return s.height >= target ? s : undefined;
      }, 60_000);
      chainId = st.chainId;
    } catch {
      const lines = app.output().split('\n').filter((l) => /ledger|consensus|round|guard|error|warn/i.test(l)).slice(-25).join('\n');
      chainId = (last as { chainId?: string } | null)?.chainId ?? '';
      problems.push(`the chain did not reach height ${target} within 60 s after the cut; last status ${JSON.stringify(last)}\n${lines.slice(-4000)}`);
    }
  } catch (err) {
    problems.push(`the appliance on the cut's data: ${(err as Error).message.slice(0, 3000)}`);
  } finally {
    for (const pid of treePids(app.pid)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await app.exited();
  }
  try {
    if (chainId) problems.push(...(await checkChain(rec.dataDir, acks, nodeKey, chainId, guardBefore)).problems);
  } finally {
    // A failing cut's recovered data is kept for a person to look at (.cache/vm/power-failed/).
    if (problems.length > 0) await keep(workDir, cut);
    await rm(workDir, { recursive: true, force: true });
  }
  return { cut, kind, problems, ...(stats ? { stats } : {}), fsckCode: rec.fsckCode, seconds: seconds() };
}
