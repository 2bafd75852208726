// A simulated Ledger running the TRON app, on @noble: it speaks the real protocol — 64-byte HID
// reports in, APDUs parsed, answers framed back — so the driver, the framing and the APDUs
// are exercised exactly as with a device. Keys come from a 32-byte seed (one account per path,
// derived with HMAC-SHA256(seed, path); not BIP-32, which a simulation does not need).
import { createHash, createHmac } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HalError } from '../errors.js';
import { CLA, INS, SIGN_P1, SW, concat } from './apdu.js';
import { Unframer, frame } from './hid-framing.js';
import type { HidFrameDevice } from './types.js';
import { addressOfPublicKey, tip191Digest } from './tron-address.js';

export interface SimLedgerOptions {
  readonly id?: string;
  /** 32 bytes; the same seed gives the same addresses. */
  readonly seed: Uint8Array;
  /** App version reported by GET_APP_CONFIGURATION. */
  readonly version?: readonly [number, number, number];
}

export interface SimLedger extends HidFrameDevice {
  /** The next confirmation on the "screen" is refused (6985). */
  rejectNext(): void;
  /** Makes open() fail like a device held by another process. */
  simulateBusy(busy: boolean): void;
  /** Every APDU received, hex, in order (what a recorder would see). */
  readonly apdus: readonly string[];
  /** raw_data of every transaction put on the "screen" for confirmation (hex), in order. */
  readonly shownTransactions: readonly string[];
  readonly isOpen: boolean;
}

function pathKey(seed: Uint8Array, pathBytes: Uint8Array): Uint8Array {
  for (let i = 0; ; i++) {
    const k = createHmac('sha256', seed).update(pathBytes).update(Uint8Array.of(i)).digest();
    if (secp256k1.utils.isValidSecretKey(k)) return Uint8Array.from(k);
  }
}

export function createSimLedger(options: SimLedgerOptions): SimLedger {
  const id = options.id ?? 'sim';
  const version = options.version ?? [0, 5, 0];
  let open = false;
  let busy = false;
  let reject = false;
  const unframer = new Unframer();
  const outbox: Uint8Array[] = [];
  const waiters: Array<(r: Uint8Array) => void> = [];
  const apdus: string[] = [];
  let pending: { path: Uint8Array; length: number; parts: Uint8Array[]; got: number } | null = null;
  let pendingTx: { path: Uint8Array; parts: Uint8Array[] } | null = null;
  const shownTransactions: string[] = [];

  const sw = (code: number, data: Uint8Array = new Uint8Array(0)): Uint8Array => concat(data, Uint8Array.of(code >> 8, code & 0xff));

  function handle(cmd: Uint8Array): Uint8Array {
    apdus.push(Buffer.from(cmd).toString('hex'));
    if (cmd.length < 5 || cmd[4] !== cmd.length - 5) return sw(SW.BAD_DATA);
    if (cmd[0] !== CLA) return sw(SW.CLA_NOT_SUPPORTED);
    const [, ins, p1] = cmd;
    const data = cmd.subarray(5);
    switch (ins) {
      case INS.GET_APP_CONFIGURATION:
        return sw(SW.OK, Uint8Array.of(0x00, ...version));
      case INS.GET_PUBLIC_KEY: {
        const n = data[0] ?? 0;
        if (n < 1 || n > 10 || data.length !== 1 + n * 4) return sw(SW.BAD_DATA);
        if (p1 === 0x01 && consumeReject()) return sw(SW.REJECTED);
        const pub = secp256k1.getPublicKey(pathKey(options.seed, data), false);
        const addr = new TextEncoder().encode(addressOfPublicKey(pub));
        return sw(SW.OK, concat(Uint8Array.of(65), pub, Uint8Array.of(addr.length), addr));
      }
      case INS.SIGN_PERSONAL_MESSAGE: {
        if (p1 === 0x00) {
          const n = data[0] ?? 0;
          if (n < 1 || n > 10 || data.length < 1 + n * 4 + 4) return sw(SW.BAD_DATA);
          const path = data.subarray(0, 1 + n * 4);
          const length = new DataView(data.buffer, data.byteOffset + path.length, 4).getUint32(0);
          pending = { path: Uint8Array.from(path), length, parts: [], got: 0 };
          const body = data.subarray(path.length + 4);
          pending.parts.push(Uint8Array.from(body));
          pending.got += body.length;
        } else if (p1 === 0x80 && pending) {
          pending.parts.push(Uint8Array.from(data));
          pending.got += data.length;
        } else {
          return sw(SW.BAD_DATA);
        }
        if (pending.got < pending.length) return sw(SW.OK);
        const job = pending;
        pending = null;
        if (job.got !== job.length) return sw(SW.BAD_DATA);
        if (consumeReject()) return sw(SW.REJECTED);
        const sig = secp256k1.sign(tip191Digest(concat(...job.parts)), pathKey(options.seed, job.path), { prehash: false, format: 'recovered' });
        // noble: [recovery, r, s]; the device: r ‖ s ‖ v with v = 0/1.
        return sw(SW.OK, concat(sig.subarray(1), sig.subarray(0, 1)));
      }
      case INS.SIGN:
        return signTransaction(p1 ?? -1, data);
      default:
        return sw(SW.INS_NOT_SUPPORTED);
    }
  }

  // INS 04: P1 10 single chunk, 00 first (path ‖ bytes), 80 more, 90 last. The app signs
  // SHA-256 of the whole raw_data (the txid) after the user confirms what it shows.
  function signTransaction(p1: number, data: Uint8Array): Uint8Array {
    if (p1 === SIGN_P1.SINGLE || p1 === SIGN_P1.FIRST) {
      const n = data[0] ?? 0;
      if (n < 1 || n > 10 || data.length < 1 + n * 4) return sw(SW.BAD_DATA);
      pendingTx = { path: Uint8Array.from(data.subarray(0, 1 + n * 4)), parts: [Uint8Array.from(data.subarray(1 + n * 4))] };
    } else if ((p1 === SIGN_P1.MORE || p1 === SIGN_P1.LAST) && pendingTx) {
      pendingTx.parts.push(Uint8Array.from(data));
    } else {
      pendingTx = null;
      return sw(SW.BAD_DATA);
    }
    if (p1 === SIGN_P1.FIRST || p1 === SIGN_P1.MORE) return sw(SW.OK);
    const job = pendingTx;
    pendingTx = null;
    if (!job) return sw(SW.BAD_DATA);
    const raw = concat(...job.parts);
    if (raw.length === 0) return sw(SW.BAD_DATA);
    shownTransactions.push(Buffer.from(raw).toString('hex'));
    if (consumeReject()) return sw(SW.REJECTED);
    const txid = createHash('sha256').update(raw).digest();
    const sig = secp256k1.sign(txid, pathKey(options.seed, job.path), { prehash: false, format: 'recovered' });
    return sw(SW.OK, concat(sig.subarray(1), sig.subarray(0, 1)));
  }

  function consumeReject(): boolean {
    const r = reject;
    reject = false;
    return r;
  }

  function deliver(report: Uint8Array): void {
    const w = waiters.shift();
    if (w) w(report);
    else outbox.push(report);
  }

  return {
    id,
    get apdus() { return apdus; },
    get shownTransactions() { return shownTransactions; },
    get isOpen() { return open; },
    rejectNext() { reject = true; },
    simulateBusy(b) { busy = b; },
    async open() {
      if (busy) throw new HalError('HAL_ERR_UNAVAILABLE', `${id}: device busy (simulated)`);
      open = true;
    },
    async write(report) {
      if (!open) throw new HalError('HAL_ERR_UNAVAILABLE', `${id} is not open`);
      if (report.length !== 64) throw new HalError('HAL_ERR_IO', `${id}: reports are 64 bytes`);
      const cmd = unframer.push(report);
      if (cmd) for (const r of frame(handle(cmd))) deliver(r);
    },
    read(timeoutMs) {
      if (!open) return Promise.reject(new HalError('HAL_ERR_UNAVAILABLE', `${id} is not open`));
      const ready = outbox.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject_) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          reject_(new HalError('HAL_ERR_IO', `${id}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (r: Uint8Array): void => {
          clearTimeout(timer);
          resolve(r);
        };
        waiters.push(done);
      });
    },
    async close() {
      open = false;
      outbox.length = 0;
      unframer.reset();
      pending = null;
      pendingTx = null;
    },
  };
}
