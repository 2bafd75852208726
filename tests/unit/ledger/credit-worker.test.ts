// The credit worker each node runs (services/ledger/credits/worker.ts): it answers its own
// challenges from the chunks it holds, fetches the objects of answered challenges from the
// challenged node, judges them and batches its verdicts — here four of them around a real chain,
// with messages passed by hand.
import { describe, expect, it } from 'vitest';
import { inclusionPath } from '../../../services/common/merkle.js';
import { CreditWorker, type ChunkPort, type CreditOutput } from '../../../services/ledger/credits/worker.js';
import { decodeTx } from '../../../services/ledger/codec/tx.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';
import { CreditChain, hex, session, type TestSession } from './credits-kit.js';
import type { Key } from './chain-kit.js';

class Bench {
  now = 0;
  readonly txs: Buffer[] = [];
  readonly mail: Array<{ from: string; to: string; msg: WireMessage }> = [];
  readonly workers = new Map<string, CreditWorker>();

  constructor(readonly c: CreditChain, ports: Map<string, ChunkPort>) {
    for (const k of c.ks) {
      const emit = (o: CreditOutput): void => {
        if (o.kind === 'tx') this.txs.push(o.tx);
        else this.mail.push({ from: hex(k), to: o.to, msg: o.msg });
      };
      this.workers.set(hex(k), new CreditWorker({ chainId: c.state.chainId, signer: k, anchors: c.anchors, port: ports.get(hex(k)), emit, now: () => this.now, retryMs: 1000, batchMs: 50 }));
    }
  }

  /** Everyone sees the head; messages are delivered until none are left; time moves on for the batch. */
  /** The chain's clock: just after its head block. */
  sync(): void {
    this.now = Math.max(this.now, this.c.state.headTime + 1);
    for (const w of this.workers.values()) w.onState(this.c.state);
  }

  settle(): Buffer[] {
    this.sync();
    for (let round = 0; round < 5; round++) {
      for (const w of this.workers.values()) w.tick();
      while (this.mail.length > 0) {
        const m = this.mail.shift()!;
        this.workers.get(m.to)?.onMessage(m.from, m.msg);
      }
      this.now += 100;
    }
    return this.txs.splice(0);
  }
}

const portOf = (sessions: TestSession[], holds = true): ChunkPort => ({
  read: async (q) => {
    const s = sessions.find((x) => x.manifestHash === q.manifestHash);
    return s && holds ? { object: s.objects[q.index]!, path: inclusionPath(s.leaves, q.index) } : null;
  },
});

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('credit worker', () => {
  it('answers from the chunks it holds, fetches and checks the object, batches verdicts: the relay credit follows', async () => {
    const c = new CreditChain();
    c.block();
    const storer: Key = c.notProposer();
    const s = session(1, 5 * 65_536 + 17);
    const bench = new Bench(c, new Map([[hex(storer), portOf([s])]]));
    c.block([c.anchor(storer, s)]);
    bench.settle();
    await flush(); // the port is asynchronous, as the disk is
    const answers = bench.settle();
    expect(answers.map((t) => decodeTx(t)).map((t) => (t.type === 'work' ? t.kind : t.type))).toEqual(['answer']);
    c.block(answers);
    // Three validators ask the storer; its answers arrive after the disk read; each judges and batches one verdict.
    bench.settle();
    await flush();
    const out = bench.settle();
    // (The storer may by now also have been audited — which block proposer it met decides — and answer that.)
    const kinds = out.map((t) => decodeTx(t)).map((t) => (t.type === 'work' ? t.kind : t.type));
    expect(kinds.filter((k) => k !== 'answer')).toEqual(['verdicts', 'verdicts', 'verdicts', 'verdicts']); // the storer judges its own object too (read locally)
    for (const v of out) {
      const tx = decodeTx(v);
      if (tx.type === 'work' && tx.kind === 'verdicts') expect(tx.verdicts.every((x) => x.ok)).toBe(true);
    }
    c.block(out);
    expect(c.totals(storer)).toMatchObject({ relaySessions: 1, relayBytes: s.totalBytes });
  });

  it('a node that does not hold the chunk sends no answer; an object from anyone but the challenged node is not judged', async () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    const s = session(1, 3 * 65_536);
    const bench = new Bench(c, new Map([[hex(storer), portOf([s], false)]]));
    c.block([c.anchor(storer, s)]);
    bench.settle();
    await flush();
    expect(bench.settle()).toEqual([]);
    // Answered by hand; a third party pushes the right bytes before the storer does: not taken.
    const [ch] = c.challenges(storer, 'intake');
    c.block([c.answer(storer, ch!, s)]);
    const judge = c.ks.find((k) => k !== storer)!;
    const third = c.ks.find((k) => k !== storer && k !== judge)!;
    bench.sync();
    bench.workers.get(hex(judge))!.onMessage(hex(third), { t: 'object', height: ch!.height, seq: ch!.seq, object: s.objects[ch!.index]! });
    bench.now += 100;
    bench.workers.get(hex(judge))!.tick();
    expect(bench.txs.filter((t) => decodeTx(t).node.equals(judge.publicKey))).toEqual([]);
    // …while the same bytes from the storer are judged ok.
    bench.workers.get(hex(judge))!.onMessage(hex(storer), { t: 'object', height: ch!.height, seq: ch!.seq, object: s.objects[ch!.index]! });
    bench.now += 100;
    bench.workers.get(hex(judge))!.tick();
    const mine = bench.txs.map((t) => decodeTx(t)).filter((t) => t.node.equals(judge.publicKey));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.type === 'work' && mine[0]!.kind === 'verdicts' && mine[0]!.verdicts[0]!.ok).toBe(true);
  });

  it('serves objects only to validators, only for its own answered challenges', async () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    const s = session(1, 1000);
    const bench = new Bench(c, new Map([[hex(storer), portOf([s])]]));
    c.block([c.anchor(storer, s)]);
    const [ch] = c.challenges(storer, 'intake');
    const w = bench.workers.get(hex(storer))!;
    bench.sync();
    w.onMessage(hex(c.ks.find((k) => k !== storer)!), { t: 'getObject', height: ch!.height, seq: ch!.seq });
    await flush();
    expect(bench.mail.filter((m) => m.msg.t === 'object')).toEqual([]); // not answered yet
    c.block([c.answer(storer, ch!, s)]);
    bench.sync();
    w.onMessage('ab'.repeat(32), { t: 'getObject', height: ch!.height, seq: ch!.seq }); // a stranger
    w.onMessage(hex(c.ks.find((k) => k !== storer)!), { t: 'getObject', height: ch!.height, seq: ch!.seq });
    await flush();
    const sent = bench.mail.filter((m) => m.msg.t === 'object');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).not.toBe('ab'.repeat(32));
  });

  it('bounds its memory: a validator asks for at most 8 objects at once, a node reads at most 2 at once to serve them', async () => {
    const c = new CreditChain();
    c.block();
    const storer = c.notProposer();
    const ss = Array.from({ length: 20 }, (_, i) => session(100 + i, 1000));
    let reads = 0;
    let pending: Array<() => void> = [];
    const slow: ChunkPort = {
      read: (q) => new Promise((resolve) => {
        reads++;
        const s = ss.find((x) => x.manifestHash === q.manifestHash)!;
        pending.push(() => resolve({ object: s.objects[q.index]!, path: inclusionPath(s.leaves, q.index) }));
      }),
    };
    const bench = new Bench(c, new Map([[hex(storer), slow]]));
    c.block(ss.map((s) => c.anchor(storer, s)));
    c.block(c.challenges(storer, 'intake').map((ch) => c.answer(storer, ch, ss.find((s) => s.manifestHash === ch.manifest)!)));
    bench.sync();
    reads = 0;
    pending = [];
    const judge = c.ks.find((k) => k !== storer)!;
    bench.workers.get(hex(judge))!.tick();
    const asks = bench.mail.filter((m) => m.from === hex(judge) && m.msg.t === 'getObject');
    expect(asks).toHaveLength(8);
    for (const m of bench.mail.splice(0)) if (m.to === hex(storer)) bench.workers.get(m.to)!.onMessage(m.from, m.msg);
    expect(reads).toBe(2); // the other six wait in the queue
    for (let i = 0; i < 8; i++) {
      pending.shift()!();
      await flush();
    }
    expect(reads).toBe(8);
    const objects = bench.mail.filter((m) => m.msg.t === 'object' && m.to === hex(judge));
    expect(objects).toHaveLength(8);
    for (const m of bench.mail.splice(0)) bench.workers.get(m.to)?.onMessage(m.from, m.msg);
    bench.now += 300; // the waiting ones look again a quarter of retryMs later
    bench.workers.get(hex(judge))!.tick();
    expect(bench.mail.filter((m) => m.msg.t === 'getObject')).toHaveLength(8); // the next eight
  });
});
