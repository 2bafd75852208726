// Public face of hal/wallet: the interface, the Ledger TRON driver over USB or a simulated
// device, the framing and APDU helpers, and record/replay transports for fixtures.
export type { WalletDriver, WalletAddress, WalletAppConfig, HidFrameDevice, ApduTransport } from './types.js';
export { DEFAULT_TRON_PATH } from './types.js';
export { CLA, INS, SW, encodePath, getAddressApdu, getAppConfigurationApdu, signPersonalMessageApdus, signTransactionApdus, SIGN_P1, SIGN_CHUNK, checkResponse, parseAddressResponse } from './apdu.js';
export { frame, Unframer, REPORT_SIZE, CHANNEL, TAG_APDU } from './hid-framing.js';
export { createHidTransport, type HidTransportOptions } from './hid-transport.js';
export { createLedgerTronWallet } from './ledger-tron.js';
export { createSimLedger, type SimLedger, type SimLedgerOptions } from './sim-ledger.js';
export { createUsbLedgerDevice, LEDGER_VENDOR_ID, type UsbLedgerOptions, type UsbModuleLike } from './usb-ledger.js';
export { createRecordingTransport, createReplayTransport } from './record-replay.js';
export { addressOfPublicKey as tronAddressOf } from './tron-address.js';
