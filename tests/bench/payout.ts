// Payout benchmark (`./build.sh bench payout`), JSON lines:
// - idle_rss: the payout process idle with tronweb loaded (after it built and signed payouts),
//   before tronweb was loaded, and a bare idle Node process in the same run (`rssMb`, the ask
//   of issue 23, is the first); PSS too, which shares the Node binary fairly.
// - approval_to_signed: from the `payout.approve` call to the record's `signed` state, with the
//   keystore (the first one pays tronweb's import; the others are warm), over the real socket,
//   against the TRON node double on loopback (reference block fetched per build).
// - statement_1000: the statement of 1,000 operators — the pure arithmetic, the canonical
//   document with its hash and Merkle root, and the whole submit through the payout process
//   (verification, computation, a durable write).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTronNodeDouble } from '../helpers/tron-node/index.js';
import { approve, operatorId, payouts, registerAddress, setupWallet, startPayout, wallet } from '../helpers/payout.js';
import { ROOT } from '../helpers/appliance.js';
import { payoutNodeArgs } from '../../appliance/supervisor/children.js';
import { computeStatement, statementDocument, statementHash } from '../../services/payout/index.js';
import { submitAnchored } from '../helpers/statement-anchor.js';

const emit = (o: object): void => console.log(JSON.stringify({ bench: 'payout', ...o }));
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memory(pid: number): { rssMb: number; pssMb: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  return { rssMb: round(kb('Rss') / 1024), pssMb: round(kb('Pss') / 1024) };
}

export async function run(): Promise<void> {
  const node = await startTronNodeDouble({ blockMs: 50 });
  const dataDir = mkdtempSync(join(tmpdir(), 'lucid-bench-payout-'));
  const dir = join(dataDir, 'payout');
  const socketDir = join(dataDir, 'sockets');
  for (const d of [dir, socketDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  // As the supervisor starts it: Node's permission model on.
  const nodeArgs = payoutNodeArgs(join(ROOT, 'dist/entries'), { dir, socketDir, alsoRead: [], addons: false });
  const pay = await startPayout({ tronUrl: node.url, dataDir, nodeArgs, env: { LUCID_LOG_LEVEL: 'warn', LUCID_PAYOUT_POLL_MS: '3000' } });
  const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    await sleep(3000);
    const before = memory(pay.child.pid!);
    const bareMem = memory(bare.pid!);

    const walletAddress = await setupWallet(pay);
    node.chain.setBalance(walletAddress, 10n ** 15n);
    const N = 12;
    const ops = Array.from({ length: N }, (_, i) => operatorId(i + 1));
    for (const [i, op] of ops.entries()) await registerAddress(pay, op, wallet(100 + i).address);
    await submitAnchored(pay.client, { chainId: 'bench', epoch: 1, pool: String(1000 * 1_000_000 * N), operators: ops.map((operator) => ({ operator, credits: 1, uptime: 0, window: 1 })) });
    const times: number[] = [];
    for (const p of await payouts(pay)) {
      const t = performance.now();
      await approve(pay, p.id, [wallet(1)]);
      for (;;) {
        const r = (await payouts(pay)).find((x) => x.id === p.id)!;
        if (['signed', 'broadcast', 'paid'].includes(r.state)) break;
        await sleep(2);
      }
      times.push(performance.now() - t);
    }
    const warm = times.slice(1);
    emit({ metric: 'approval_to_signed', signer: 'keystore', n: times.length, firstMs: round(times[0]!), medianMs: round(median(warm)), maxWarmMs: round(Math.max(...warm)) });

    await sleep(5000);
    const after = memory(pay.child.pid!);
    emit({
      metric: 'idle_rss', rssMb: after.rssMb, pssMb: after.pssMb, rssMbBeforeTronweb: before.rssMb, tronwebMb: round(after.rssMb - before.rssMb),
      bareRssMb: bareMem.rssMb, bareDeltaMb: round(after.rssMb - bareMem.rssMb), permissionModel: true,
    });

    // 1,000 operators, credits spread over four orders of magnitude, a few carried amounts.
    const many = Array.from({ length: 1000 }, (_, i) => ({ operator: (i + 1).toString(16).padStart(64, '0'), credits: 1 + ((i * 7919) % 10_000), uptime: i % 3, window: 2 }));
    const computeRuns: number[] = [];
    const docRuns: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      const s = computeStatement({ epoch: 2, pool: 250_000n * 1_000_000n, operators: many, carriedIn: new Map([[many[0]!.operator, 5_000_000n]]) });
      const t1 = performance.now();
      statementHash(statementDocument(s, 'bench', null));
      docRuns.push(performance.now() - t1);
      computeRuns.push(t1 - t0);
    }
    const t2 = performance.now();
    await submitAnchored(pay.client, { chainId: 'bench', epoch: 2, pool: String(250_000n * 1_000_000n), operators: many });
    const submitMs = performance.now() - t2;
    emit({ metric: 'statement_1000', operators: 1000, computeMs: round(median(computeRuns), 2), documentMs: round(median(docRuns), 2), submitMs: round(submitMs) });
  } finally {
    bare.kill();
    await pay.kill();
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
