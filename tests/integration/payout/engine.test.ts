// The payout service in-process, where a test can replace a part: a builder that tampers with
// the transaction (the check refuses before anything signs), a node whose head is hours old
// (an expired block header), a daily limit, a Ledger (simulated, INS 04) instead of the
// keystore, a Ledger of another seed. Signing is counted at the signer.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTronNodeDouble, type TronNodeDouble } from '../../helpers/tron-node/index.js';
import { operatorId, wallet, waitFor, PASSPHRASE } from '../../helpers/payout.js';
import { PayoutService, createTronNode, keystoreSigner, ledgerSigner, coreReportedCredits, DEFAULT_LIMITS, usdt, type PayoutSigner } from '../../../services/payout/process.js';
import { buildTransfer } from '../../../services/payout/tron/builder.js';
import { silentLogger } from '../../../services/common/log.js';
import { DEFAULT_TRON_PATH, createHidTransport, createLedgerTronWallet, createSimLedger } from '../../../hal/index.js';
import type { PayoutRecord } from '../../../services/payout/state/record.js';
import { submitAnchored } from '../../helpers/statement-anchor.js';

const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
let node: TronNodeDouble | null = null;
let svc: PayoutService | null = null;
afterEach(async () => {
  await svc?.stop();
  await node?.close();
  svc = null;
  node = null;
});

interface Setup { svc: PayoutService; signs: () => number; wallet: string }

async function setup(opts: { build?: typeof buildTransfer; daily?: number; signer?: (k: PayoutService['keystore']) => PayoutSigner; nodeNow?: () => number; ledgerAddress?: () => Promise<string>; funds?: bigint } = {}): Promise<Setup> {
  node = await startTronNodeDouble({ blockMs: 30, ...(opts.nodeNow ? { now: opts.nodeNow } : {}) });
  let count = 0;
  const s = new PayoutService({
    dataDir: mkdtempSync(join(tmpdir(), 'lucid-payeng-')),
    engine: { contract: USDT, feeLimit: 40_000_000, ttlMs: 60_000, maxRefAgeMs: 60_000, confirmations: 20, limits: { ...DEFAULT_LIMITS, daily: usdt(opts.daily ?? 50_000) } },
    node: createTronNode({ url: node.url }),
    nodeUrl: node.url,
    makeSigner: (k) => {
      const inner = opts.signer ? opts.signer(k) : keystoreSigner(k);
      return { ...inner, sign: (raw, txid) => { count++; return inner.sign(raw, txid); } };
    },
    verifier: coreReportedCredits,
    pollMs: 40,
    unlockMs: 60_000,
    log: silentLogger(),
    ...(opts.build ? { build: opts.build } : {}),
    ...(opts.ledgerAddress ? { ledgerAddress: opts.ledgerAddress } : {}),
  });
  svc = s;
  await s.start();
  let address: string;
  if (s.signer.method === 'keystore') {
    address = (await s.handle('keystore.create', { passphrase: PASSPHRASE }) as { address: string }).address;
    await s.handle('keystore.unlock', { passphrase: PASSPHRASE });
  } else {
    address = (await s.handle('ledger.setup', {}) as { address: string }).address;
  }
  node.chain.setBalance(address, opts.funds ?? usdt(1_000_000));
  for (const [i, a] of [wallet(1), wallet(2)].entries()) {
    const { text, version } = await s.handle('approver.text', { approver: a.address, name: `a${i}` }) as { text: string; version: number };
    await s.handle('approver.enroll', { approver: a.address, name: `a${i}`, version, signatures: [wallet(1), wallet(2)].slice(0, i + 1).map((w) => w.sign(text)) });
  }
  for (const n of [1, 2]) {
    const { text, version } = await s.handle('address.text', { operator: operatorId(n), to: wallet(40 + n).address }) as { text: string; version: number };
    await s.handle('address.change', { operator: operatorId(n), to: wallet(40 + n).address, version, signatures: [wallet(1).sign(text), wallet(2).sign(text)] });
  }
  // Two payouts of 950 USDT each.
  await submitAnchored({ call: (op, a) => s.handle(op, a) }, { chainId: 'lucid-test', epoch: 2, pool: '2000000000', operators: [1, 2].map((n) => ({ operator: operatorId(n), credits: 1, uptime: 0, window: 1 })) });
  for (const n of [1, 2]) {
    const { text } = await s.handle('payout.approvalText', { id: `2:${operatorId(n)}` }) as { text: string };
    await s.handle('payout.approve', { id: `2:${operatorId(n)}`, signatures: [wallet(1).sign(text)] });
  }
  return { svc: s, signs: () => count, wallet: address };
}

const rec = (s: PayoutService, n: number): PayoutRecord => s.store.get(`2:${operatorId(n)}`)!;

describe('payout engine refusals and signers', () => {
  for (const [field, tamper] of [
    ['recipient', { recipient: wallet(66).address }],
    ['amount', { amount: 1n }],
    ['contract', { contract: wallet(67).address }],
    ['expiration', { expiration: 1 }],
  ] as const) {
    it(`a built transaction whose ${field} differs from the approved request is refused before signing`, async () => {
      const { svc: s, signs } = await setup({ build: (plan) => buildTransfer({ ...plan, ...tamper, ...(field === 'expiration' ? { expiration: plan.expiration + 1 } : {}) }) });
      const r = await waitFor('payout failed', async () => rec(s, 1).state === 'failed' && rec(s, 1));
      expect(r.failure?.code).toBe('PAYOUT_ERR_TX_MISMATCH');
      expect(r.failure?.reason).toContain(field);
      expect(signs()).toBe(0);
      expect(node!.requests.filter((q) => q.path === '/wallet/broadcasthex')).toEqual([]);
    });
  }

  it('an expired block header (the node\'s head is two hours old) is refused: nothing built, nothing signed', async () => {
    const { svc: s, signs } = await setup({ nodeNow: () => Date.now() - 2 * 3600_000 });
    await waitFor('header refused', async () => s.engine.lastError.get(rec(s, 1).id)?.code === 'PAYOUT_ERR_HEADER_EXPIRED');
    expect(rec(s, 1).state).toBe('approved');
    expect(rec(s, 1).attempts).toEqual([]);
    expect(signs()).toBe(0);
  });

  it('the daily limit: the second payout of the day waits, unsigned', async () => {
    const { svc: s, signs } = await setup({ daily: 1000 });
    const paid = await waitFor('one paid, one held', async () => {
      const states = [rec(s, 1), rec(s, 2)];
      const held = states.find((r) => s.engine.lastError.get(r.id)?.code === 'PAYOUT_ERR_DAILY_LIMIT');
      return held && states.find((r) => r.state === 'paid') && held;
    });
    expect(paid.state).toBe('built');
    expect(paid.attempts.every((a) => a.signature === undefined)).toBe(true);
    expect(signs()).toBe(1);
    expect(s.dailyUsed()).toBe(950_000_000n);
  });

  it('signs with a Ledger (simulated TRON app, INS 04): the device is shown each transaction, the payouts are paid', async () => {
    const device = createSimLedger({ seed: Uint8Array.from(Buffer.alloc(32, 5)) });
    let ledgerAddress: string | null = null;
    const withWallet = async <T>(use: (w: ReturnType<typeof createLedgerTronWallet>) => Promise<T>): Promise<T> => {
      const w = createLedgerTronWallet({ transport: createHidTransport({ device }) });
      await w.open();
      try { return await use(w); } finally { await w.close(); }
    };
    await setup({
      signer: () => ledgerSigner({ withWallet, path: DEFAULT_TRON_PATH, address: async () => ledgerAddress }),
      ledgerAddress: async () => (ledgerAddress = (await withWallet((w) => w.getAddress(DEFAULT_TRON_PATH, { display: true }))).address),
    });
    await waitFor('both paid', async () => rec(svc!, 1).state === 'paid' && rec(svc!, 2).state === 'paid');
    const txRaw = [rec(svc!, 1), rec(svc!, 2)].map((r) => r.attempts.at(-1)!.rawData);
    expect(device.shownTransactions).toEqual(expect.arrayContaining(txRaw));
    expect(device.apdus.some((a) => a.startsWith('e004'))).toBe(true);
    expect(device.apdus.some((a) => a.startsWith('e0020100'))).toBe(true);
  });

  it('a payout that reverts on chain (wallet out of USDT) fails unpaid; requested again it needs a new approval, then pays once', async () => {
    const { svc: s, wallet: w } = await setup({ funds: 0n });
    const failed = await waitFor('reverted and failed', async () => rec(s, 1).state === 'failed' && rec(s, 1), 30_000);
    expect(failed.failure?.code).toBe('REVERT');
    expect(failed.attempts.at(-1)!.outcome).toBe('reverted');
    expect(node!.chain.transfers.filter((t) => t.to === wallet(41).address)).toEqual([]);
    const id = rec(s, 1).id;
    const { text: oldText } = await s.handle('payout.approvalText', { id }) as { text: string };
    node!.chain.setBalance(w, usdt(1_000_000));
    await s.handle('payout.retry', { id });
    expect(rec(s, 1)).toMatchObject({ state: 'requested', round: 2, approvals: [] });
    // The first round's approval does not approve the second.
    await expect(s.handle('payout.approve', { id, signatures: [wallet(1).sign(oldText)] })).rejects.toMatchObject({ code: 'PAYOUT_ERR_APPROVAL_INVALID' });
    const { text } = await s.handle('payout.approvalText', { id }) as { text: string };
    expect(text).toContain('(round 2)');
    await s.handle('payout.approve', { id, signatures: [wallet(1).sign(text)] });
    await waitFor('paid', async () => rec(s, 1).state === 'paid', 30_000);
    expect(node!.chain.transfers.filter((t) => t.to === wallet(41).address)).toHaveLength(1);
    await expect(s.handle('payout.retry', { id })).rejects.toMatchObject({ code: 'PAYOUT_ERR_STATE' });
  }, 60_000);

  it('a Ledger with another seed than the payout wallet is refused (PAYOUT_ERR_SIGNER_MISMATCH), nothing sent', async () => {
    const other = createSimLedger({ seed: Uint8Array.from(Buffer.alloc(32, 6)) });
    const withWallet = async <T>(use: (w: ReturnType<typeof createLedgerTronWallet>) => Promise<T>): Promise<T> => {
      const w = createLedgerTronWallet({ transport: createHidTransport({ device: other }) });
      await w.open();
      try { return await use(w); } finally { await w.close(); }
    };
    const { svc: s } = await setup({ signer: (k) => ({ ...keystoreSigner(k), sign: ledgerSigner({ withWallet, path: DEFAULT_TRON_PATH, address: () => k.address() }).sign }) });
    await waitFor('mismatch', async () => s.engine.lastError.get(rec(s, 1).id)?.code === 'PAYOUT_ERR_SIGNER_MISMATCH');
    expect(rec(s, 1).state).toBe('built');
    expect(other.shownTransactions).toEqual([]);
    expect(node!.requests.filter((q) => q.path === '/wallet/broadcasthex')).toEqual([]);
  });
});
