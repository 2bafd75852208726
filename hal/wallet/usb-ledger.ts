// A real Ledger over USB with `usb@3` (napi-rs, WebUSB API, self-contained: no libusb or libudev
// shared library needed, which matters in a distroless image — node-hid 3 needs both). It
// uses the Ledger's vendor-class interface (class 0xFF, the one Ledger Live's WebUSB transport
// uses) with bulk/interrupt endpoint 3 both ways and the usual 64-byte HID framing, so the
// kernel's usbhid driver never has to be detached. `usb` is imported lazily on first open():
// simulated mode never loads native code. Needs a udev rule giving the appliance user access
// to vendor 2c97 (see hal/wallet/README.md).
import { HalError, describeError } from '../errors.js';
import type { HidFrameDevice } from './types.js';

export const LEDGER_VENDOR_ID = 0x2c97;
const ENDPOINT = 3;

/** The slice of usb@3's WebUSB device we use (typed here so hal/ needs no @types). */
interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productName?: string | undefined;
  readonly configuration: { interfaces: Array<{ interfaceNumber: number; alternates: Array<{ interfaceClass: number }> }> } | null;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(n: number): Promise<void>;
  claimInterface(n: number): Promise<void>;
  releaseInterface(n: number): Promise<void>;
  transferOut(endpoint: number, data: Uint8Array): Promise<{ status: string }>;
  transferIn(endpoint: number, length: number): Promise<{ status: string; data?: DataView }>;
}
export interface UsbModuleLike {
  WebUSB: new (options: { allowAllDevices: boolean }) => { getDevices(): Promise<UsbDeviceLike[]> };
}

export interface UsbLedgerOptions {
  /** Loads usb@3 (tests inject a fake). */
  readonly load?: () => Promise<UsbModuleLike>;
  readonly vendorId?: number;
}

export function createUsbLedgerDevice(options: UsbLedgerOptions = {}): HidFrameDevice {
  const vendorId = options.vendorId ?? LEDGER_VENDOR_ID;
  const load = options.load ?? (async () => (await import('usb')) as unknown as UsbModuleLike);
  let device: UsbDeviceLike | null = null;
  let iface = -1;
  const id = `usb:${vendorId.toString(16)}`;

  return {
    id,
    async open() {
      if (device) return;
      let usb: UsbModuleLike;
      try {
        usb = await load();
      } catch (err) {
        throw new HalError('HAL_ERR_UNAVAILABLE', `${id}: the usb module cannot be loaded: ${describeError(err)}`, { cause: err });
      }
      let found: UsbDeviceLike | undefined;
      try {
        found = (await new usb.WebUSB({ allowAllDevices: true }).getDevices()).find((d) => d.vendorId === vendorId);
      } catch (err) {
        throw new HalError('HAL_ERR_UNAVAILABLE', `${id}: cannot list USB devices: ${describeError(err)}`, { cause: err });
      }
      if (!found) throw new HalError('HAL_ERR_UNAVAILABLE', `${id}: no Ledger connected (unlock it and open the TRON app)`);
      try {
        await found.open();
        if (found.configuration === null) await found.selectConfiguration(1);
        const vendor = found.configuration?.interfaces.find((i) => i.alternates.some((a) => a.interfaceClass === 0xff));
        if (!vendor) throw new Error('no vendor-class interface (is the TRON app open?)');
        await found.claimInterface(vendor.interfaceNumber);
        iface = vendor.interfaceNumber;
      } catch (err) {
        await found.close().catch(() => {});
        // LIBUSB_ERROR_BUSY / ACCESS: another process has the device, or no udev permission.
        throw new HalError('HAL_ERR_UNAVAILABLE', `${id}: cannot open the Ledger: ${describeError(err)}`, { cause: err });
      }
      device = found;
    },
    async write(report) {
      if (!device) throw new HalError('HAL_ERR_UNAVAILABLE', `${id} is not open`);
      try {
        const r = await device.transferOut(ENDPOINT, report);
        if (r.status !== 'ok') throw new Error(`transfer status ${r.status}`);
      } catch (err) {
        throw new HalError('HAL_ERR_IO', `${id}: write: ${describeError(err)}`, { cause: err });
      }
    },
    async read(timeoutMs) {
      const d = device;
      if (!d) throw new HalError('HAL_ERR_UNAVAILABLE', `${id} is not open`);
      let timer: NodeJS.Timeout | undefined;
      try {
        const r = await Promise.race([
          d.transferIn(ENDPOINT, 64),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
        ]);
        if (r.status !== 'ok' || !r.data) throw new Error(`transfer status ${r.status}`);
        return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength).slice();
      } catch (err) {
        throw new HalError('HAL_ERR_IO', `${id}: read: ${describeError(err)}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      const d = device;
      device = null;
      if (!d) return;
      await d.releaseInterface(iface).catch(() => {});
      await d.close().catch(() => {});
    },
  };
}
