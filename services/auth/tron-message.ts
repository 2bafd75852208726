// TRON wallet logins: TIP-191 signed messages (`signMessageV2`) checked against a TRON address.
// The address and signature code is the one pure implementation in hal/wallet/tron-address.ts
// (no TRON SDK outside services/payout/ — architecture rule; facts in DESIGN §5, notes §3.3).
import { parseSignature, recoverTip191Address } from '../../hal/wallet/tron-address.js';

export {
  TRON_ADDRESS_PATTERN, addressOfPublicKey as addressOf, isTronAddress, parseSignature, recoverTip191Address, signTip191, tip191Digest,
} from '../../hal/wallet/tron-address.js';

export function verifyTip191(message: string | Uint8Array, signatureHex: string, address: string): boolean {
  const sig = parseSignature(signatureHex);
  return sig !== null && recoverTip191Address(message, sig) === address;
}
