// A USB device with a Ledger's vendor id (2c97) inside the full guest, made by the guest kernel
// itself: dummy_hcd (a virtual host controller and device controller pair) plus a configfs
// gadget with one HID function, as a Nano X shows its HID interface. The guest's usbcore
// enumerates it like a plugged-in device, so udev runs the real rules on a real usb_device node
// (/dev/bus/usb/BBB/DDD) and on its hidraw node. qemu cannot do this from the outside: none of
// its emulated USB devices takes a vendor id, and usb-host needs a real device on the host.
// The gadget has no vendor-class (0xFF) interface, so the appliance can open the device but
// not talk the Ledger protocol to it: what it answers says whether the open itself worked.
import type { FullGuest } from './full-guest.js';

const REPORT_DESCRIPTOR = [
  0x06, 0xa0, 0xff, 0x09, 0x01, 0xa1, 0x01, // usage page 0xFFA0 (vendor), usage 1, collection
  0x09, 0x03, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75, 0x08, 0x95, 0x40, 0x81, 0x08, // 64-byte input
  0x09, 0x04, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75, 0x08, 0x95, 0x40, 0x91, 0x08, // 64-byte output
  0xc0,
];

const SCRIPT = `
set -e
modprobe dummy_hcd
modprobe libcomposite
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
G=/sys/kernel/config/usb_gadget/ledger
mkdir -p $G && cd $G
echo 0x2c97 > idVendor
echo 0x4011 > idProduct
echo 0x0200 > bcdUSB
mkdir -p strings/0x409 configs/c.1/strings/0x409 functions/hid.usb0
echo Ledger > strings/0x409/manufacturer
echo 'Nano X (lucid VM test)' > strings/0x409/product
echo hid > configs/c.1/strings/0x409/configuration
echo 0 > functions/hid.usb0/protocol
echo 0 > functions/hid.usb0/subclass
echo 64 > functions/hid.usb0/report_length
printf '${REPORT_DESCRIPTOR.map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}' > functions/hid.usb0/report_desc
ln -s functions/hid.usb0 configs/c.1/
ls /sys/class/udc | head -n 1 > UDC
`;

export interface PluggedLedger {
  /** /dev/bus/usb/BBB/DDD */
  readonly usbNode: string;
  /** /dev/hidrawN of the same device */
  readonly hidrawNode: string;
}

/** Plugs the gadget in and waits until udev has made both device nodes. */
export async function plugLedgerGadget(g: FullGuest): Promise<PluggedLedger> {
  await g.run(SCRIPT);
  const found = await g.run(`
    for i in $(seq 1 150); do
      for d in /sys/bus/usb/devices/*; do
        if [ "$(cat $d/idVendor 2>/dev/null)" = 2c97 ]; then
          usb=/dev/bus/usb/$(printf %03d $(cat $d/busnum))/$(printf %03d $(cat $d/devnum))
          hid=$(ls -d $d/*/*/hidraw/hidraw* 2>/dev/null | head -n 1)
          if [ -n "$hid" ] && [ -e "$usb" ] && [ -e /dev/$(basename $hid) ]; then udevadm settle; echo "$usb /dev/$(basename $hid)"; exit 0; fi
        fi
      done
      sleep 0.2
    done
    exit 1`, 90_000);
  const [usbNode, hidrawNode] = found.trim().split(' ');
  return { usbNode: usbNode!, hidrawNode: hidrawNode! };
}
