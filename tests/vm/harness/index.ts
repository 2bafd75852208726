// The VM test bed (tests/vm/README.md): a full Debian 12 guest with systemd for the package and
// systemd tests, a lean guest (kernel + initramfs with the image + a data disk) for power-cut
// loops, one agent protocol to run commands in either, and the power cut itself.
//
//   const g = await bootFullGuest({ share: dirWithTheDeb });   // Debian + systemd, port 8080 forwarded
//   await g.run('apt-get install -y /mnt/host/lucid-appliance_…_amd64.deb');
//   await g.waitHealthy(); await g.reboot(); await g.powerCut(); await g.boot();
//
//   const disk = await createDataDisk(join(dir, 'data.raw'));
//   let lean = await bootLeanGuest({ image, dataDisk: disk });   // the appliance starts at boot
//   await lean.waitHealthy(); …; await powerCut(lean);           // SIGKILL qemu
//   lean = await bootLeanGuest({ image, dataDisk: disk });       // same data, next boot
export { GuestAgent, type ExecResult } from './agent.js';
export { VM_CACHE, cached, recipeKey } from './cache.js';
export { FullGuest, bootFullGuest, type FullGuestOptions, type BootTimes } from './full-guest.js';
export { GUEST_RECIPE, debianMirror, guestBase, type GuestBase } from './guest-build.js';
export { bootLeanGuest, createDataDisk, leanInitrd, waitHealthy, type LeanGuest, type LeanGuestOptions, type LeanImage } from './lean-guest.js';
export { QemuVm, detectAccel, type Accel, type QemuOptions } from './qemu.js';

/** Cuts the power of a guest: SIGKILL of its qemu process (its own pid, never a wrapper's). */
export function powerCut(guest: { powerCut(): Promise<void> }): Promise<void> {
  return guest.powerCut();
}
