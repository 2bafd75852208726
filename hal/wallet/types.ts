// The hardware wallet interface: a Ledger running the TRON app, reached over USB (real) or
// simulated in-process (dev, tests). Both speak the same APDUs (CLA E0; INS 02 get address,
// 04 sign transaction, 06 app configuration, 08 sign personal message) through the same 64-byte HID framing; only
// the device underneath differs.
//
// The contract every driver keeps (tests/contract/hal/wallet-contract.ts):
// - open() finds and opens the device; HAL_ERR_UNAVAILABLE when there is none, it is busy
//   (another process has it: a USB device is open in one process at a time) or not permitted.
//   open() is idempotent; close() too, and every call after close() is HAL_ERR_UNAVAILABLE.
// - getAddress(path) answers the secp256k1 public key (65 bytes, uncompressed) and the base58
//   TRON address the app derives for the BIP-32 path (default m/44'/195'/0'/0/0).
// - signPersonalMessage(path, message) signs TIP-191 (`signMessageV2`) bytes of any length
//   (chunked into ≤ 255-byte APDUs) and answers r ‖ s ‖ v with v as the device returns it (0/1);
//   a refusal on the device is HAL_ERR_REJECTED; any other non-9000 status word HAL_ERR_PROTOCOL.
// - signTransaction(path, rawData) signs a TRON transaction: the protobuf bytes of its raw_data
//   (whose SHA-256 is the txid), streamed in field-aligned chunks (INS 04). The app shows the
//   contract (for a TRC-20 transfer: recipient, amount, token) and the user confirms on the
//   device. Answers r ‖ s ‖ v over SHA-256(rawData) with v = 0/1; refusal is HAL_ERR_REJECTED.
// - Calls are serialised: the device handles one exchange at a time.

export const DEFAULT_TRON_PATH = "m/44'/195'/0'/0/0";

export interface WalletAddress {
  readonly publicKey: Uint8Array;
  readonly address: string;
}

export interface WalletAppConfig {
  readonly version: string;
  /** Bit 0 data allowed, bit 1 custom contracts, bit 2 truncate address, bit 3 sign by hash. */
  readonly flags: number;
}

export interface WalletDriver {
  readonly id: string;
  open(): Promise<void>;
  close(): Promise<void>;
  getAppConfiguration(): Promise<WalletAppConfig>;
  getAddress(path?: string, options?: { display?: boolean }): Promise<WalletAddress>;
  signPersonalMessage(path: string, message: Uint8Array): Promise<Uint8Array>;
  signTransaction(path: string, rawData: Uint8Array): Promise<Uint8Array>;
}

/** A raw frame device: 64-byte HID reports in, 64-byte reports out (USB or simulated). */
export interface HidFrameDevice {
  readonly id: string;
  open(): Promise<void>;
  write(report: Uint8Array): Promise<void>;
  /** Next 64-byte report; rejects with HAL_ERR_IO after `timeoutMs`. */
  read(timeoutMs: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** An APDU transport: command bytes in, response bytes (data ‖ SW1 SW2) out. */
export interface ApduTransport {
  readonly id: string;
  open(): Promise<void>;
  exchange(apdu: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}
