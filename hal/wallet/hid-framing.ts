// Ledger's HID framing (the same over USB HID and WebUSB): every 64-byte report is
//   channel (2 B, 0x0101) ‖ tag 0x05 ‖ sequence (2 B BE, from 0) ‖ payload,
// and the payload of the first report starts with the APDU's total length (2 B BE). The last
// report is padded with zeros. Pure functions; the framing tests pin the bytes.
import { HalError } from '../errors.js';

export const REPORT_SIZE = 64;
export const CHANNEL = 0x0101;
export const TAG_APDU = 0x05;

export function frame(apdu: Uint8Array, channel = CHANNEL): Uint8Array[] {
  const payload = new Uint8Array(2 + apdu.length);
  new DataView(payload.buffer).setUint16(0, apdu.length);
  payload.set(apdu, 2);
  const reports: Uint8Array[] = [];
  for (let seq = 0, off = 0; off < payload.length; seq++) {
    const report = new Uint8Array(REPORT_SIZE);
    const view = new DataView(report.buffer);
    view.setUint16(0, channel);
    report[2] = TAG_APDU;
    view.setUint16(3, seq);
    const take = Math.min(REPORT_SIZE - 5, payload.length - off);
    report.set(payload.subarray(off, off + take), 5);
    off += take;
    reports.push(report);
  }
  return reports;
}

/** Reassembles reports into one message; `push` answers the message once it is complete. */
export class Unframer {
  private expected = -1;
  private seq = 0;
  private parts: Uint8Array[] = [];
  private received = 0;

  constructor(private readonly channel = CHANNEL) {}

  push(report: Uint8Array): Uint8Array | null {
    if (report.length < 5) throw new HalError('HAL_ERR_PROTOCOL', 'HID report too short');
    const view = new DataView(report.buffer, report.byteOffset, report.byteLength);
    if (view.getUint16(0) !== this.channel) throw new HalError('HAL_ERR_PROTOCOL', `HID report on channel ${view.getUint16(0).toString(16)}`);
    if (report[2] !== TAG_APDU) throw new HalError('HAL_ERR_PROTOCOL', `HID report tag ${report[2]}`);
    if (view.getUint16(3) !== this.seq) throw new HalError('HAL_ERR_PROTOCOL', `HID report out of sequence (${view.getUint16(3)}, expected ${this.seq})`);
    let body = report.subarray(5);
    if (this.seq === 0) {
      if (body.length < 2) throw new HalError('HAL_ERR_PROTOCOL', 'first HID report without length');
      this.expected = (body[0]! << 8) | body[1]!;
      body = body.subarray(2);
    }
    this.seq++;
    const take = body.subarray(0, Math.min(body.length, this.expected - this.received));
    this.parts.push(take);
    this.received += take.length;
    if (this.received < this.expected) return null;
    const out = new Uint8Array(this.expected);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    this.reset();
    return out;
  }

  reset(): void {
    this.expected = -1;
    this.seq = 0;
    this.parts = [];
    this.received = 0;
  }
}
