// TIP-191 signed messages (tronweb's signMessageV2): admins sign payout approvals, address changes
// and enrollments this way — with TronLink, a Ledger, or any TRON wallet — and the payout process
// verifies them itself, with the one implementation in hal/wallet/tron-address.ts.
import { parseSignature, recoverTip191Address, signTip191, tip191Digest } from '../../../hal/wallet/tron-address.js';

export { tip191Digest };

/** The address that signed `message`, or null (malformed, invalid, or the high-S twin). */
export function tip191Signer(message: string, signatureHex: string): string | null {
  const sig = parseSignature(signatureHex);
  return sig ? recoverTip191Address(message, sig) : null;
}

/** Signs like signMessageV2 (tests, tools, the simulated approver). */
export const tip191Sign = (message: string, privateKey: Uint8Array): string => signTip191(message, privateKey);
