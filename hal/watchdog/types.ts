// The hardware watchdog interface. Once open, the kernel reboots the board unless it is kicked
// within its timeout (15 s default on a Pi's bcm2835-wdt). The supervisor kicks it only while
// it is itself healthy, so a hung supervisor ends in a reboot rather than a dead appliance.
//
// The contract every driver keeps (tests/contract/hal/watchdog-contract.ts):
// - open() arms it; it rejects with HAL_ERR_UNAVAILABLE when there is no such device or another
//   process holds it (Linux allows one opener). open() is idempotent.
// - kick() resets the countdown; before open() or after close() it rejects with
//   HAL_ERR_UNAVAILABLE; a failed write rejects with HAL_ERR_IO.
// - close() is the clean stop: it writes the magic character 'V' so the kernel disarms the
//   timer (unless the kernel is built with nowayout), then closes. It is idempotent. A process
//   that dies without close() leaves the watchdog armed — that is the point of it.

export interface WatchdogDriver {
  readonly id: string;
  open(): Promise<void>;
  kick(): Promise<void>;
  close(): Promise<void>;
}
