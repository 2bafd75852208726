// What only approvers can change, kept by the payout process in its own data directory: the
// approver keys (TRON addresses of admins' wallets) and each operator's payout address.
//
// - Enrolling an approver: the new approver signs the enrollment text (proof they hold the
//   key) and so do min(2, approvers enrolled) existing approvers. The very first one is trust
//   on first use: whoever sets up the payout wallet names it (README "Trust").
// - Setting or changing an operator's address: two distinct enrolled approvers sign the change
//   text, which names the old address and the entry's next version — so a signature is good for
//   exactly one change, never again after the entry moved on.
// Every accepted change is written durably (fsync) before it is answered.
import { readFile } from 'node:fs/promises';
import { LucidError, errnoCode } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs-atomic.js';
import { isTronAddress } from './tron/address.js';
import { tip191Signer } from './tron/tip191.js';
import { addressChangeText, enrollmentText } from './messages.js';

export const REGISTRY_FORMAT = 'lucid-payout-registry/1';

export interface Approver { readonly address: string; readonly name: string; readonly enrolledAt: number; readonly signedBy: readonly string[] }
export interface AddressEntry { readonly address: string; readonly version: number; readonly changedAt: number; readonly signedBy: readonly string[] }

interface RegistryData {
  readonly format: typeof REGISTRY_FORMAT;
  readonly approversVersion: number;
  readonly approvers: readonly Approver[];
  readonly addresses: Readonly<Record<string, AddressEntry>>;
}

const EMPTY: RegistryData = { format: REGISTRY_FORMAT, approversVersion: 0, approvers: [], addresses: {} };

/**
 * The distinct enrolled approvers who signed `text`. Any signature that does not recover to an
 * enrolled approver is PAYOUT_ERR_APPROVAL_INVALID; the same approver twice is
 * PAYOUT_ERR_SAME_APPROVER (two people, not two signatures).
 */
export function approversOf(text: string, signatures: readonly string[], enrolled: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const sig of signatures) {
    const who = tip191Signer(text, sig);
    if (!who || !enrolled.has(who)) throw new LucidError('PAYOUT_ERR_APPROVAL_INVALID', who ? `${who} is not an enrolled approver` : 'a signature does not verify over this text', { signer: who });
    if (out.includes(who)) throw new LucidError('PAYOUT_ERR_SAME_APPROVER', `${who} signed twice`, { signer: who });
    out.push(who);
  }
  return out;
}

export class Registry {
  private data: RegistryData = EMPTY;

  constructor(private readonly path: string, private readonly instance: () => string, private readonly now: () => number = Date.now) {}

  async load(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as RegistryData;
      if (parsed.format !== REGISTRY_FORMAT) throw new Error('format');
      this.data = parsed;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new LucidError('PAYOUT_ERR_KEYSTORE', `registry file unreadable: ${(err as Error).message}`);
    }
  }

  get approvers(): readonly Approver[] { return this.data.approvers; }
  get approversVersion(): number { return this.data.approversVersion; }
  enrolled(): Set<string> { return new Set(this.data.approvers.map((a) => a.address)); }
  address(operator: string): AddressEntry | null { return this.data.addresses[operator] ?? null; }
  addresses(): Readonly<Record<string, AddressEntry>> { return this.data.addresses; }
  approverName(address: string): string | null { return this.data.approvers.find((a) => a.address === address)?.name ?? null; }

  /** The text an enrollment must sign (the next version). */
  enrollmentText(approver: string, name: string): string {
    return enrollmentText({ instance: this.instance(), approver, name, version: this.data.approversVersion + 1 });
  }

  async enroll(input: { approver: string; name: string; version: number; signatures: readonly string[] }): Promise<Approver> {
    if (!isTronAddress(input.approver)) throw new LucidError('PAYOUT_ERR_BAD_ADDRESS', input.approver);
    if (input.version !== this.data.approversVersion + 1) throw new LucidError('PAYOUT_ERR_ADDRESS_CHANGE', `approver list is at version ${this.data.approversVersion}`, { version: this.data.approversVersion });
    if (this.enrolled().has(input.approver)) throw new LucidError('PAYOUT_ERR_DUPLICATE', `${input.approver} is enrolled already`);
    const text = this.enrollmentText(input.approver, input.name);
    const signers = approversOf(text, input.signatures, new Set([...this.enrolled(), input.approver]));
    if (!signers.includes(input.approver)) throw new LucidError('PAYOUT_ERR_APPROVAL_INVALID', 'the new approver must sign the enrollment with its own key');
    const needed = Math.min(2, this.data.approvers.length);
    if (signers.length - 1 < needed) throw new LucidError('PAYOUT_ERR_SECOND_APPROVAL', `an enrollment needs ${needed} enrolled approver(s) besides the new one`, { needed });
    const approver: Approver = { address: input.approver, name: input.name, enrolledAt: this.now(), signedBy: signers };
    await this.save({ ...this.data, approversVersion: this.data.approversVersion + 1, approvers: [...this.data.approvers, approver] });
    return approver;
  }

  changeText(operator: string, to: string): string {
    const cur = this.address(operator);
    return addressChangeText({ instance: this.instance(), operator, from: cur?.address ?? null, to, version: (cur?.version ?? 0) + 1 });
  }

  async changeAddress(input: { operator: string; to: string; version: number; signatures: readonly string[] }): Promise<AddressEntry> {
    if (!/^[0-9a-f]{64}$/.test(input.operator)) throw new LucidError('PAYOUT_ERR_IPC_SCHEMA', 'operator is 64 hex');
    if (!isTronAddress(input.to)) throw new LucidError('PAYOUT_ERR_BAD_ADDRESS', input.to);
    const cur = this.address(input.operator);
    if (input.version !== (cur?.version ?? 0) + 1) {
      throw new LucidError('PAYOUT_ERR_ADDRESS_CHANGE', `the address entry is at version ${cur?.version ?? 0}; this change was signed for another`, { version: cur?.version ?? 0 });
    }
    const signers = approversOf(this.changeText(input.operator, input.to), input.signatures, this.enrolled());
    if (signers.length < 2) throw new LucidError('PAYOUT_ERR_SECOND_APPROVAL', 'an address change needs two enrolled approvers', { needed: 2, have: signers.length });
    const entry: AddressEntry = { address: input.to, version: input.version, changedAt: this.now(), signedBy: signers };
    await this.save({ ...this.data, addresses: { ...this.data.addresses, [input.operator]: entry } });
    return entry;
  }

  private async save(next: RegistryData): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    this.data = next;
  }
}
