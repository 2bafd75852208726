// The protocol's ops on the payout service. Queries answer from memory; everything that changes
// state runs in the service's queue. Answers are plain JSON (amounts as decimal strings).
import { LucidError } from '../common/errors.js';
import { formatUsdt } from './messages.js';
import type { OpArgs, Op } from './protocol.js';
import type { PayoutService } from './service.js';
import type { PayoutRecord } from './state/record.js';
import { isTronAddress } from './tron/address.js';

type Handlers = { [O in Op]: (args: OpArgs<O>) => Promise<unknown> };

export function recordView(s: PayoutService, r: PayoutRecord): Record<string, unknown> {
  const needed = BigInt(r.amount) >= s.deps.engine.limits.secondApprovalFrom ? 2 : 1;
  return {
    ...r,
    amountUsdt: formatUsdt(BigInt(r.amount)),
    approvalsNeeded: needed,
    approvals: r.approvals.map((a) => ({ approver: a.approver, name: s.registry.approverName(a.approver), at: a.at })),
    lastError: s.engine.lastError.get(r.id) ?? null,
  };
}

async function safely<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    return { error: (err as { code?: string }).code ?? (err as Error).message };
  }
}

export function opHandlers(s: PayoutService): Handlers {
  const limits = s.deps.engine.limits;
  return {
    async 'status'() {
      const wallet = await s.signer.address();
      const [signer, usdt, trx, head] = await Promise.all([
        s.signer.status(),
        wallet ? safely(async () => String(await s.deps.node.tokenBalance(s.deps.engine.contract, wallet))) : null,
        wallet ? safely(() => s.deps.node.trxBalance(wallet)) : null,
        safely(() => s.deps.node.nowBlock()),
      ]);
      const counts: Record<string, number> = {};
      for (const r of s.store.all()) counts[r.state] = (counts[r.state] ?? 0) + 1;
      return {
        protocol: 1, instance: s.instance, contract: s.deps.engine.contract, node: { url: s.deps.nodeUrl, head },
        signer: { method: s.signer.method, address: wallet, ...signer }, balance: { usdt, trxSun: trx },
        limits: { min: String(limits.min), max: String(limits.max), secondApprovalFrom: String(limits.secondApprovalFrom), daily: String(limits.daily) },
        dailyUsed: String(s.dailyUsed()), confirmations: s.deps.engine.confirmations,
        approversVersion: s.registry.approversVersion, approvers: s.registry.approvers.map((a) => ({ address: a.address, name: a.name, enrolledAt: a.enrolledAt })),
        addresses: s.registry.addresses(), counts, verifier: s.deps.verifier.name,
      };
    },
    async 'statement.submit'(a) {
      return s.serial(async () => {
        let stmt = await s.book.accept({ chainId: a.chainId, epoch: a.epoch, pool: BigInt(a.pool), operators: a.operators, ...(a.proof !== undefined ? { proof: a.proof } : {}) });
        s.deps.crashPoint?.('stated');
        // Paid only from what the chain made final: without (or before) the anchor, nothing is requested.
        if (a.anchor) stmt = await s.book.anchor(a.epoch, a.anchor);
        const requested: string[] = [];
        const skipped: Array<{ operator: string; code: string }> = [];
        for (const l of stmt.anchor ? stmt.document.lines : []) {
          if (l['payable'] === '0') continue;
          const operator = String(l['operator']);
          if (s.store.get(`${a.epoch}:${operator}`)) continue;
          try {
            requested.push((await s.request(a.epoch, operator)).id);
          } catch (err) {
            skipped.push({ operator, code: (err as { code?: string }).code ?? 'error' });
          }
        }
        return { epoch: stmt.epoch, hash: stmt.hash, verifiedBy: stmt.verifiedBy, anchor: stmt.anchor ?? null, requested, skipped };
      });
    },
    async 'statement.list'() { return s.book.all(); },
    async 'payout.list'() { return s.store.all().map((r) => recordView(s, r)); },
    async 'payout.request'(a) { return s.serial(async () => recordView(s, await s.request(a.epoch, a.operator))); },
    async 'payout.approvalText'(a) { return { id: a.id, text: await s.approvalText(s.record(a.id)) }; },
    async 'payout.preview'(a) { return s.preview(a.id); },
    async 'payout.approve'(a) {
      const r = await s.serial(() => s.approve(a.id, a.signatures));
      void s.serial(() => s.engine.step(a.id)).catch(() => undefined);
      return recordView(s, r);
    },
    async 'payout.retry'(a) { return s.serial(async () => recordView(s, await s.retry(a.id))); },
    async 'keystore.create'(a) {
      if (s.signer.method !== 'keystore') throw new LucidError('PAYOUT_ERR_NO_SIGNER', 'payouts are signed with a Ledger here');
      return s.serial(async () => ({ address: await s.keystore.create(a.passphrase) }));
    },
    async 'keystore.unlock'(a) {
      const u = await s.serial(() => s.keystore.unlock(a.passphrase, a.ttlMs ?? s.deps.unlockMs));
      void s.serial(() => s.engine.tick()).catch(() => undefined);
      return u;
    },
    async 'keystore.lock'() { s.keystore.lock(); return { locked: true }; },
    async 'ledger.setup'() {
      if (s.signer.method !== 'ledger' || !s.deps.ledgerAddress) throw new LucidError('PAYOUT_ERR_NO_SIGNER', 'payouts are signed with the keystore here');
      return s.serial(async () => ({ address: await s.deps.ledgerAddress!() }));
    },
    async 'approver.text'(a) { return { text: s.registry.enrollmentText(a.approver, a.name), version: s.registry.approversVersion + 1 }; },
    async 'approver.enroll'(a) { return s.serial(() => s.registry.enroll(a)); },
    async 'address.text'(a) {
      if (!isTronAddress(a.to)) throw new LucidError('PAYOUT_ERR_BAD_ADDRESS', a.to);
      return { text: s.registry.changeText(a.operator, a.to), version: (s.registry.address(a.operator)?.version ?? 0) + 1 };
    },
    async 'address.change'(a) { return s.serial(() => s.registry.changeAddress(a)); },
    async 'earnings'(a) {
      const lines = s.book.all().map((st) => ({ epoch: st.epoch, hash: st.hash, line: st.document.lines.find((l) => l['operator'] === a.operator) ?? null })).filter((x) => x.line);
      return { operator: a.operator, address: s.registry.address(a.operator), lines, payouts: s.store.all().filter((r) => r.operator === a.operator).map((r) => recordView(s, r)) };
    },
  };
}
