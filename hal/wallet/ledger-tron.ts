// The Ledger TRON app driver: WalletDriver over any APDU transport (USB, simulated, replayed).
import { HalError } from '../errors.js';
import {
  checkResponse, getAddressApdu, getAppConfigurationApdu, parseAddressResponse, signPersonalMessageApdus, signTransactionApdus,
} from './apdu.js';
import { DEFAULT_TRON_PATH, type ApduTransport, type WalletAddress, type WalletAppConfig, type WalletDriver } from './types.js';

export function createLedgerTronWallet(options: { transport: ApduTransport; id?: string }): WalletDriver {
  const t = options.transport;
  return {
    id: options.id ?? `ledger:${t.id}`,
    open: () => t.open(),
    close: () => t.close(),
    async getAppConfiguration(): Promise<WalletAppConfig> {
      const data = checkResponse(await t.exchange(getAppConfigurationApdu()), 'GET_APP_CONFIGURATION');
      return { flags: data[0] ?? 0, version: `${data[1] ?? 0}.${data[2] ?? 0}.${data[3] ?? 0}` };
    },
    async getAddress(path = DEFAULT_TRON_PATH, opts = {}): Promise<WalletAddress> {
      return parseAddressResponse(checkResponse(await t.exchange(getAddressApdu(path, opts.display ?? false)), 'GET_PUBLIC_KEY'));
    },
    async signPersonalMessage(path, message): Promise<Uint8Array> {
      let data: Uint8Array = new Uint8Array(0);
      // Intermediate chunks answer 9000 with no data; the last one carries r ‖ s ‖ v.
      for (const chunk of signPersonalMessageApdus(path, message)) data = checkResponse(await t.exchange(chunk), 'SIGN_PERSONAL_MESSAGE');
      if (data.length !== 65) throw new HalError('HAL_ERR_PROTOCOL', `signature of ${data.length} bytes, expected 65`);
      return Uint8Array.from(data);
    },
    async signTransaction(path, rawData): Promise<Uint8Array> {
      let data: Uint8Array = new Uint8Array(0);
      for (const chunk of signTransactionApdus(path, rawData)) data = checkResponse(await t.exchange(chunk), 'SIGN');
      if (data.length < 65) throw new HalError('HAL_ERR_PROTOCOL', `signature of ${data.length} bytes, expected 65`);
      return Uint8Array.from(data.subarray(0, 65));
    },
  };
}
