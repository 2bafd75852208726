// Carries out an AdmissionPlan in the simulated world (what admins, Sybils and byzantine
// proposers do; see admission-plan.ts). Admins act every slot through the node's own engine,
// like the API routes do: an approval is submitted while the node's chain does not show it yet,
// the joiner asks to join once its chain shows enough approvals. Sybil traffic arrives as if
// relayed by a peer; what a node does with it is the engine's and the chain's business.
import type { Engine, EngineOutput } from '../../../services/ledger/consensus/engine.js';
import { approvedPower, lastNonce, nextBlockView } from '../../../services/ledger/chain/admission.js';
import type { ChainState } from '../../../services/ledger/chain/state.js';
import { decodeBlock, encodeBlock } from '../../../services/ledger/codec/block.js';
import { signTx, type TxBody } from '../../../services/ledger/codec/tx.js';
import type { WireMessage } from '../../../services/ledger/codec/messages.js';
import { merkleRoot, sha256 } from '../../../services/common/merkle.js';
import type { Signer } from '../../../services/ledger/crypto.js';
import type { AdmissionPlan, SybilWave } from './admission-plan.js';
import { fakeSigner } from './fake-crypto.js';
import type { Rng } from './rng.js';

export interface DrivenNode {
  readonly name: string;
  readonly signer: Signer;
  readonly engine: Engine | null;
}

const CHAIN = 'sim';
const hex = (s: Signer): string => s.publicKey.toString('hex');

export class AdmissionDriver {
  readonly joiner: Signer | null;
  readonly k: Signer;
  private readonly sybils: Signer[] = [];
  sybilMessages = 0;

  constructor(private readonly plan: AdmissionPlan, seed: number, private readonly validatorKeys: readonly Buffer[], private readonly rng: Rng) {
    this.joiner = plan.joiner ? fakeSigner(`${seed}:j`) : null;
    this.k = fakeSigner(`${seed}:k`);
    const most = Math.max(1, ...plan.waves.map((w) => w.sybils));
    for (let i = 0; i < most + 1; i++) this.sybils.push(fakeSigner(`${seed}:sybil:${i}`));
  }

  /** Keys that must never enter the validator set. */
  get forbidden(): string[] {
    return [hex(this.k), ...this.sybils.map(hex)];
  }

  private join(s: Signer, state: ChainState, power = 1): Buffer {
    return signTx(CHAIN, { type: 'join', node: s.publicKey, power, nonce: lastNonce(state.nonces, hex(s)) + 1 }, s.sign);
  }

  private approve(by: Signer, joiner: Signer, power: number, state: ChainState): Buffer {
    const body: TxBody = { type: 'approve', node: by.publicKey, joiner: joiner.publicKey, power, joinerNonce: lastNonce(state.nonces, hex(joiner)), validUntil: state.height + 50 };
    return signTx(CHAIN, body, by.sign);
  }

  /** A flood at one node: what a Sybil (or a relay of Sybils) can send. */
  wave(w: SybilWave, node: DrivenNode, now: number): EngineOutput[] {
    const e = node.engine;
    if (!e) return [];
    const st = e.state;
    const out: EngineOutput[] = [];
    const txs: Buffer[] = [this.join(this.k, st)];
    for (let i = 0; i < w.sybils; i++) {
      const s = this.sybils[i]!;
      const victim = this.rng.pick(this.validatorKeys);
      txs.push(this.join(s, st), this.approve(s, this.sybils[i + 1]!, 1, st));
      // An approval in a validator's name, signed by the Sybil.
      const forged = Buffer.from(this.approve(s, s, 1, st));
      victim.copy(forged, 2);
      txs.push(forged);
      const vote = (validator: Buffer): WireMessage => ({
        t: 'vote', type: this.rng.chance(0.5) ? 'prevote' : 'precommit', height: st.height + 1, round: this.rng.int(0, 2),
        value: sha256(Buffer.from(`sybil:${i}:${now}`)), validator, signature: s.sign(Buffer.from(`vote:${now}`)),
      });
      for (const msg of [vote(s.publicKey), vote(victim)]) out.push(...e.onMessage(hex(s), msg, now));
    }
    this.sybilMessages += txs.length + 2 * w.sybils;
    out.push(...e.onMessage(hex(this.sybils[0]!), { t: 'txs', txs }, now));
    return out;
  }

  /** Every slot from plan.approveFrom: the admins of the nodes in the plan act. */
  tick(nodes: readonly DrivenNode[], now: number): void {
    const submit = (node: DrivenNode, tx: Buffer): void => { node.engine!.submitTx(tx, now); };
    const approveUntilShown = (names: readonly string[], joiner: Signer, power: number): void => {
      for (const node of nodes) {
        if (!names.includes(node.name) || !node.engine) continue;
        const st = node.engine.state;
        const a = st.approvals?.[hex(joiner)]?.[hex(node.signer)];
        if (st.validators.some((v) => v.publicKey === hex(joiner))) continue;
        if (a && a.power === power && a.joinerNonce === lastNonce(st.nonces, hex(joiner)) && a.validUntil > st.height + 5) continue;
        if (node.engine.mempool.local().some((m) => m.tx.type === 'approve' && m.tx.joiner.equals(joiner.publicKey))) continue;
        submit(node, this.approve(node.signer, joiner, power, st));
      }
    };
    if (this.joiner && this.plan.joiner) approveUntilShown(this.plan.approveJ, this.joiner, this.plan.joiner.power);
    approveUntilShown(this.plan.approveK, this.k, 1);
    approveUntilShown(this.plan.twinApprovers, this.sybils[0]!, 1);
    const j = nodes.find((n) => n.name === 'j');
    if (j?.engine && this.joiner && this.plan.joiner) {
      const st = j.engine.state;
      const view = nextBlockView(st);
      const { approved, total } = approvedPower(view, hex(this.joiner), this.plan.joiner.power);
      if (!st.validators.some((v) => v.publicKey === hex(this.joiner!)) && 3 * approved > 2 * total) submit(j, this.join(this.joiner, st, this.plan.joiner.power));
    }
  }

  /** A twin's proposal with joins the chain must refuse (half the time, when the plan says so). */
  tamper(state: () => ChainState | undefined): ((bytes: Buffer) => Buffer | null) | undefined {
    if (!this.plan.tamper) return undefined;
    return (bytes) => {
      const st = state();
      if (!st || !this.rng.chance(0.5)) return null;
      const b = decodeBlock(bytes);
      const txs = [...b.txs, this.join(this.sybils[0]!, st), this.join(this.k, st), this.join(this.sybils[1]!, st)];
      return encodeBlock({ ...b, header: { ...b.header, txRoot: merkleRoot(txs), txCount: txs.length }, txs });
    };
  }
}
