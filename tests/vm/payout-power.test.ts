// A power cut during a payout, at every step (issue 23's acceptance, issue 20 §4's way): the
// payout process runs in the lean guest (the image's node and dist/, its data on the virtio disk),
// the TRON node double on the host. One boot per step, on one data disk: each step's payout (its
// own epoch and operator) is driven to the step, the guest's power is cut there — SIGKILL of qemu,
// which loses what the guest kernel had not written — at a moment taken from the payout's own
// durable record (its answer over the socket) or from the double's request log (a request held
// while the cut happens), the guest boots again, the process resumes, and the double's books decide:
// the payout ends paid, exactly one of its transactions is included, a transaction signed before
// the cut is re-sent rather than signed again (unless it expired and the node proved it absent),
// the operator received exactly the amount worked out by hand, the wallet lost exactly what was paid.
// No randomness: the moments are the steps themselves. Two moments lie inside the process — "stated"
// (the statement accepted, nothing requested) and "signed-not-recorded" (signed in memory, the record
// not written): there the process, restarted with its test crash point armed for that one action,
// kills itself at the instruction and the cut follows while it lies dead, so the disk holds what
// was durable at that instant.
//
//   LUCID_PAYOUT_CUT_STEPS=signed,broadcast ./build.sh test tests/vm/payout-power.test.ts   # some steps
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild } from '../helpers/image-build.js';
import { freePort } from '../helpers/appliance.js';
import { PASSPHRASE, operatorId, registerAddress, wallet, waitFor, type PayoutView } from '../helpers/payout.js';
import { decodeSigned, startTronNodeDouble, transferCall, type TronNodeDouble } from '../helpers/tron-node/index.js';
import { submitAnchored } from '../helpers/statement-anchor.js';
import { PayoutClient } from '../../services/payout/index.js';
import { bootLeanGuest, createDataDisk, leanInitrd, type LeanGuest, type LeanImage } from './harness/index.js';
import { NODE_ADDR, NODE_PORT, RELAY_PORT, SocketBridge, guestPayoutRunning, nodeForward, restartGuestPayout, startGuestPayout } from './power/payout-guest.js';

const ALL_STEPS = ['stated', 'requested', 'approved', 'built', 'signed-not-recorded', 'signed', 'sent-not-recorded', 'broadcast', 'paid', 'signed-expired'] as const;
type Step = typeof ALL_STEPS[number];
const STEPS: Step[] = (process.env['LUCID_PAYOUT_CUT_STEPS'] ?? '').split(',').filter(Boolean).map((s) => {
  if (!(ALL_STEPS as readonly string[]).includes(s)) throw new Error(`unknown step ${s} (${ALL_STEPS.join(', ')})`);
  return s as Step;
});
const steps: Step[] = STEPS.length > 0 ? STEPS : [...ALL_STEPS];

const FUNDS = 1_000_000_000_000n;
const EXPIRING_TTL_MS = 30_000; // signed-expired: the boot after the cut comes after the expiration
const admins = [wallet(1), wallet(2)];
const opOf = (e: number): string => operatorId(10 + e);
const destOf = (e: number) => wallet(40 + e);
// Epoch e's pool is (100 + e) USDT to one operator with all the credits and full uptime:
// gross = pool, share = 95 % of it, bonus = 2 % (exact for whole USDT), due = 97 % — payable.
const owed = (e: number): bigint => BigInt(100 + e) * 970_000n;
const statement = (e: number) => ({ chainId: 'lucid-vm', epoch: e, pool: String(BigInt(100 + e) * 1_000_000n), operators: [{ operator: opOf(e), credits: 1, uptime: 1, window: 1 }] });

let image: LeanImage;
let dir: string;
let disk: string;
let node: TronNodeDouble;
let bridge: SocketBridge;
let client: PayoutClient;
let guest: LeanGuest | undefined;
let payWallet = '';
/** The payout process's environment in the current boot. */
let bootEnv: Record<string, string> = {};
const figures: Record<string, number | string> = {};
const log = (line: string): void => console.log(`[payout-power] ${line}`);

/** Boots the lean guest on the data disk and starts the payout process in it; resolves when it answers. */
async function boot(name: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const relayPort = await freePort();
  guest = await bootLeanGuest({
    image, dataDisk: disk, autostart: false, name, forwards: [{ host: relayPort, guest: RELAY_PORT }], guestForwards: [nodeForward(node.url)],
  });
  bridge.port = relayPort;
  bootEnv = {
    LUCID_DATA_DIR: '/data', LUCID_HAL: 'sim', LUCID_TRON_URL: `http://${NODE_ADDR}:${NODE_PORT}`, LUCID_PAYOUT_SIGNER: 'keystore',
    LUCID_PAYOUT_POLL_MS: '300', LUCID_HEARTBEAT_MS: '5000', LUCID_LOG_LEVEL: 'info', ...env,
  };
  await startGuestPayout(guest, bootEnv);
  // Ready = it answers; a message stamped before the guest's clock says it started is refused as stale (retried).
  await waitFor(`the payout process in ${name}`, () => client.call('status', {}, 10_000), 240_000);
  const s = Math.round((performance.now() - t0) / 100) / 10;
  log(`${name}: booted and the payout process answers after ${s} s`);
  return s;
}

/** The power cut: SIGKILL of qemu's own pid (harness), the connections through it closed. */
async function cut(step: Step): Promise<void> {
  await guest!.powerCut();
  bridge.dropConnections();
  log(`power cut at "${step}"`);
}

/**
 * Restarts the process in this boot with its crash point `point` armed (LUCID_PAYOUT_TEST_CRASH;
 * the image's NODE_ENV=production disables the hook, so NODE_ENV=test for this process only).
 */
async function armCrash(point: Step): Promise<void> {
  await restartGuestPayout(guest!, { ...bootEnv, NODE_ENV: 'test', LUCID_PAYOUT_TEST_CRASH: point });
  bridge.dropConnections();
  await waitFor(`the payout process armed at "${point}"`, () => client.call('status', {}, 10_000), 240_000);
}

/** Waits until the process has killed itself at its crash point; then the power is cut. */
async function cutWhenDead(step: Step): Promise<void> {
  await waitFor(`the process killed itself at "${step}"`, async () => !(await guestPayoutRunning(guest!)), 240_000);
  // It died at that instruction, not of something else (the hook's line on the guest's console).
  expect(guest!.vm.consoleText()).toContain(`"point":"${step}","msg":"test crash point: SIGKILL"`);
  await cut(step);
}

const list = async (): Promise<PayoutView[]> => await client.call('payout.list', {}) as PayoutView[];
const find = async (e: number): Promise<PayoutView | undefined> => (await list()).find((r) => r.id === `${e}:${opOf(e)}`);
const gone = (err: unknown): boolean => ['PAYOUT_ERR_DUPLICATE', 'PAYOUT_ERR_STATE'].includes((err as { code?: string }).code ?? '');

async function approve(e: number): Promise<void> {
  const id = `${e}:${opOf(e)}`;
  const { text } = await client.call('payout.approvalText', { id }) as { text: string };
  await client.call('payout.approve', { id, signatures: [admins[0]!.sign(text)] });
}

/** The epoch's statement with the proof that the chain made it final (which requests what is payable), and the request again (a duplicate after a cut). */
async function stateAndRequest(e: number): Promise<void> {
  await submitAnchored(client, statement(e));
  await client.call('payout.request', { epoch: e, operator: opOf(e) }).catch((err: unknown) => { if (!gone(err)) throw err; });
}

/** What the admins do, redone after every boot (idempotent): unlock, state, request, approve up to epoch `upTo`. */
async function drive(upTo: number, approveUpTo = upTo): Promise<void> {
  await client.call('keystore.unlock', { passphrase: PASSPHRASE }, 120_000);
  for (let e = 1; e <= upTo; e++) {
    await stateAndRequest(e);
    if (e <= approveUpTo && (await find(e))?.state === 'requested') await approve(e);
  }
}

/** Which transfer a broadcast body carries. */
function sent(body: unknown): { txid: string; to: string | null; expiration: number } | null {
  const hex = (body as { transaction?: unknown }).transaction;
  if (typeof hex !== 'string') return null;
  try {
    const tx = decodeSigned(hex);
    return { txid: tx.txid, to: transferCall(tx.data)?.to ?? null, expiration: tx.expiration };
  } catch { return null; }
}

/** Arms the double to cut the power when `match` sees its request; resolves with what it saw. */
function cutOnRequest(step: Step, phase: 'received' | 'processed', match: (path: string, body: Record<string, unknown>) => unknown): Promise<unknown> {
  return new Promise((resolve) => {
    node.gate = async (r) => {
      const seen = r.phase === phase ? match(r.path, r.body) : null;
      if (!seen) return 'go';
      node.gate = null;
      await cut(step);
      resolve(seen);
      return 'drop'; // unanswered: the guest that asked is gone
    };
  });
}

interface CutInfo { txid?: string; expiration?: number; countAtCut?: number; requestsAtCut: number }

/** Drives epoch e's payout to `step` and cuts the power there. */
async function cutAt(step: Step, e: number): Promise<CutInfo> {
  const to = destOf(e).address;
  const mine = (path: string, body: Record<string, unknown>) => { const s = path === '/wallet/broadcasthex' ? sent(body) : null; return s?.to === to ? s : null; };
  const info = (): CutInfo => ({ requestsAtCut: node.requests.length });
  switch (step) {
    case 'stated': {
      // The statement accepted (durable), nothing requested yet: the process dies there, then the cut.
      await drive(e - 1);
      await armCrash(step);
      await submitAnchored(client, statement(e)).catch(() => undefined); // its answer never comes
      await cutWhenDead(step);
      return info();
    }
    case 'signed-not-recorded': {
      // Approved and built, signed in memory, the signed record not yet written: the process dies there.
      await drive(e - 1);
      await armCrash(step);
      await client.call('keystore.unlock', { passphrase: PASSPHRASE }, 120_000);
      await stateAndRequest(e);
      await approve(e);
      await cutWhenDead(step);
      return info();
    }
    case 'requested': {
      await drive(e, e - 1); // the statement's answer = its request written (fsynced) — then the cut
      await cut(step);
      return info();
    }
    case 'approved': {
      // The build's first call: the approval is on disk, nothing built.
      await drive(e - 1);
      await stateAndRequest(e);
      const held = cutOnRequest(step, 'received', (path) => path === '/wallet/getnowblock');
      await approve(e).catch(() => undefined);
      await held;
      return info();
    }
    case 'built': {
      // A locked keystore stops it after `built` (signing needs the key): the record says so, then the cut.
      await drive(e - 1);
      await client.call('keystore.lock', {});
      await stateAndRequest(e);
      await approve(e);
      const r = await waitFor('built', async () => { const x = await find(e); return x?.state === 'built' && x; }, 120_000);
      await cut(step);
      return { ...info(), txid: r.attempts.at(-1)!.txid };
    }
    case 'signed':
    case 'signed-expired':
    case 'sent-not-recorded': {
      // signed: the broadcast held and dropped unprocessed — signed on disk, never reached the node.
      // sent-not-recorded: the node took it; the cut comes before the answer reaches the guest.
      const held = cutOnRequest(step, step === 'sent-not-recorded' ? 'processed' : 'received', mine);
      await drive(e);
      const s = await held as { txid: string; expiration: number };
      return { ...info(), txid: s.txid, expiration: s.expiration, countAtCut: node.chain.broadcastCount(s.txid) };
    }
    case 'broadcast': {
      // Its first confirmation query: `broadcast` is on disk, the transaction in the node.
      const held = cutOnRequest(step, 'received', (path, body) => path.endsWith('/gettransactioninfobyid') && body['value']);
      await drive(e);
      return { ...info(), txid: await held as string };
    }
    case 'paid': {
      await drive(e);
      const r = await waitFor('paid', async () => { const x = await find(e); return x?.state === 'paid' && x; }, 240_000);
      const txid = r.attempts.at(-1)!.txid;
      await cut(step);
      return { ...info(), txid, countAtCut: node.chain.broadcastCount(txid) };
    }
  }
}

beforeAll(async () => {
  const fx = await imageBuild();
  image = { layoutDir: fx.result.layoutDir, ref: `${fx.result.version}-amd64` };
  await leanInitrd(image);
  dir = mkdtempSync(join(tmpdir(), 'lucid-payout-power-'));
  disk = await createDataDisk(join(dir, 'data.raw'), 512);
  node = await startTronNodeDouble({ blockMs: 250 });
  bridge = await SocketBridge.listen(join(dir, 'payout.sock'));
  client = new PayoutClient({ socketPath: bridge.path, timeoutMs: 60_000 });
}, 20 * 60_000);

afterAll(async () => {
  await guest?.powerCut();
  client?.close();
  await bridge?.close();
  await node?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  log(`figures ${JSON.stringify(figures)}`);
});

describe.sequential('a power cut during a payout, at every step (lean guest, TRON double on the host)', () => {
  const t0 = performance.now();

  it('sets up payouts in the guest: keystore, two approvers, an address per operator, the wallet funded', async () => {
    log(`steps ${steps.join(',')} — one: LUCID_PAYOUT_CUT_STEPS=<step> ./build.sh test tests/vm/payout-power.test.ts`);
    figures['firstBootS'] = await boot('payout-0', steps[0] === 'signed-expired' ? { LUCID_PAYOUT_TX_TTL_MS: String(EXPIRING_TTL_MS) } : {});
    payWallet = (await client.call('keystore.create', { passphrase: PASSPHRASE }, 120_000) as { address: string }).address;
    node.chain.setBalance(payWallet, FUNDS);
    for (const [i, a] of admins.entries()) {
      const { text, version } = await client.call('approver.text', { approver: a.address, name: `admin-${i + 1}` }) as { text: string; version: number };
      await client.call('approver.enroll', { approver: a.address, name: `admin-${i + 1}`, version, signatures: admins.slice(0, i + 1).map((w) => w.sign(text)) });
    }
    for (let e = 1; e <= steps.length; e++) await registerAddress({ client } as Parameters<typeof registerAddress>[0], opOf(e), destOf(e).address);
    expect(Object.keys((await client.call('status', {}) as { addresses: Record<string, unknown> }).addresses)).toHaveLength(steps.length);
  }, 15 * 60_000);

  for (const [i, step] of steps.entries()) {
    const e = i + 1;
    it(`a cut at "${step}": after the next boot the payout ends paid, once, with the amount owed`, async () => {
      const c = await cutAt(step, e);
      if (step === 'signed-expired') {
        // The next boot only after the node's own head time passed the transaction's expiration.
        await waitFor('the signed transaction expired at the node', async () => node.chain.head.timestamp > c.expiration!, 120_000);
      }
      const next = steps[i + 1];
      figures[`${step}:bootS`] = await boot(`payout-${e}`, next === 'signed-expired' ? { LUCID_PAYOUT_TX_TTL_MS: String(EXPIRING_TTL_MS) } : {});
      const t = performance.now();
      await drive(e);
      const r = await waitFor(`payout ${e} final`, async () => { const x = await find(e); return (x?.state === 'paid' || x?.state === 'failed') && x; }, 240_000);
      figures[`${step}:resumeS`] = Math.round((performance.now() - t) / 100) / 10;
      const to = destOf(e).address;
      const sentTo = node.chain.broadcastsTo(to);
      log(`"${step}": ${r.state}, attempts ${JSON.stringify(r.attempts.map((a) => ({ txid: a.txid.slice(0, 12), outcome: a.outcome ?? null, signed: Boolean(a.signature) })))}, broadcasts per txid ${JSON.stringify([...sentTo].map(([t, n]) => [t.slice(0, 12), n]))}`);
      // Paid, once, the amount worked out by hand, to the registered address.
      expect(r.state).toBe('paid');
      expect(BigInt(r.amount)).toBe(owed(e));
      expect(node.chain.balanceOf(to)).toBe(owed(e));
      const transfers = node.chain.transfers.filter((x) => x.to === to);
      expect(transfers).toHaveLength(1);
      expect(transfers[0]!.txid).toBe(r.attempts.at(-1)!.txid);
      // Per idempotency key (this epoch and operator = this recipient): every transaction that
      // reached the node is a recorded, signed attempt, and exactly one was included.
      const attempts = new Map(r.attempts.map((a) => [a.txid, a]));
      for (const txid of sentTo.keys()) expect(attempts.get(txid)?.signature, `broadcast ${txid} is a signed attempt`).toBeTruthy();
      expect([...sentTo.keys()].filter((x) => node.chain.included.get(x)?.result === 'SUCCESS')).toEqual([r.attempts.at(-1)!.txid]);
      const reSent = node.requests.slice(c.requestsAtCut).filter((q) => q.path === '/wallet/broadcasthex' && sent(q.body)?.txid === c.txid).length;
      if (step === 'signed-expired') {
        // Expired unsent: proven absent by the node after its expiration, then rebuilt — two txids, the first never included.
        expect(r.attempts).toHaveLength(2);
        expect(r.attempts[0]).toMatchObject({ txid: c.txid, outcome: 'abandoned' });
        expect(node.chain.included.has(c.txid!)).toBe(false);
        const firstNew = node.requests.findIndex((q, k) => k >= c.requestsAtCut && q.path === '/wallet/broadcasthex' && sent(q.body)?.txid === r.attempts[1]!.txid);
        const asked = node.requests.slice(c.requestsAtCut, firstNew).some((q) => q.path.includes('gettransaction') && (q.body as { value?: string }).value === c.txid);
        expect(asked, 'the node was asked for the old txid before a new one was sent').toBe(true);
        expect(sentTo.size).toBe(2);
      } else {
        // One transaction per payout ever reached the node; one signed before the cut was re-sent, not re-signed.
        expect(sentTo.size, `signed transactions sent for ${r.id}`).toBe(1);
        if (step === 'signed' || step === 'sent-not-recorded' || step === 'broadcast') {
          expect(r.attempts).toHaveLength(1);
          expect(r.attempts[0]!.txid).toBe(c.txid);
        }
        if (step === 'signed') expect(reSent, 'sent again after the boot').toBeGreaterThanOrEqual(1);
        if (step === 'sent-not-recorded') expect(node.chain.broadcastCount(c.txid!), 'taken before the cut and again after it').toBeGreaterThanOrEqual(2);
        if (step === 'paid') expect(node.chain.broadcastCount(c.txid!), 'nothing sent after paid').toBe(c.countAtCut);
        if (step === 'built' || step === 'signed-not-recorded') expect(r.attempts.slice(0, -1).every((a) => !a.signature && a.outcome === 'abandoned')).toBe(true);
        if (step === 'signed-not-recorded') expect(node.requests.slice(0, c.requestsAtCut).some((q) => q.path === '/wallet/broadcasthex' && sent(q.body)?.to === to), 'nothing of it was sent before the cut').toBe(false);
      }
    }, 20 * 60_000);
  }

  it('the books add up: every payout paid once, nothing lost or invented', async () => {
    const all = await list();
    expect(all.map((r) => r.state)).toEqual(steps.map(() => 'paid'));
    const total = steps.reduce((a, _s, i) => a + owed(i + 1), 0n);
    expect(node.chain.transfers.reduce((a, t) => a + t.amount, 0n)).toBe(total);
    expect(node.chain.transfers).toHaveLength(steps.length);
    expect(new Set(node.chain.transfers.map((t) => t.txid)).size).toBe(steps.length);
    expect(node.chain.balanceOf(payWallet)).toBe(FUNDS - total);
    figures['totalS'] = Math.round((performance.now() - t0) / 1000);
    figures['broadcastsPerTxid'] = JSON.stringify([...node.chain.broadcasts.values()]);
  }, 120_000);
});
