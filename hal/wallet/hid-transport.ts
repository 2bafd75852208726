// An APDU transport over any 64-byte-report device (USB or simulated): frames the command,
// writes the reports, reads reports until the answer is whole. One exchange at a time.
import { HalError, notOpenError } from '../errors.js';
import { Unframer, frame } from './hid-framing.js';
import type { ApduTransport, HidFrameDevice } from './types.js';

export interface HidTransportOptions {
  readonly device: HidFrameDevice;
  /** Per report; a user confirming on the device can take a while. Default 120 s. */
  readonly readTimeoutMs?: number;
}

export function createHidTransport(options: HidTransportOptions): ApduTransport {
  const { device } = options;
  let open = false;
  let queue: Promise<unknown> = Promise.resolve();
  return {
    id: device.id,
    async open() {
      if (open) return;
      await device.open();
      open = true;
    },
    exchange(apdu) {
      const run = async (): Promise<Uint8Array> => {
        if (!open) throw notOpenError(device.id);
        for (const report of frame(apdu)) await device.write(report);
        const unframer = new Unframer();
        for (let i = 0; i < 1100; i++) {
          const whole = unframer.push(await device.read(options.readTimeoutMs ?? 120_000));
          if (whole) return whole;
        }
        throw new HalError('HAL_ERR_PROTOCOL', 'answer longer than any APDU response');
      };
      const next = queue.then(run, run);
      queue = next.catch(() => undefined);
      return next;
    },
    async close() {
      if (!open) return;
      open = false;
      await device.close();
    },
  };
}
