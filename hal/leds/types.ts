// The LED driver interface. A driver owns exactly one LED. The contract that every driver keeps
// (checked by tests/contract/hal/led-contract.ts against each implementation):
//
// - `id` is stable and says which LED it is: 'sim', 'sysfs:ACT', 'gpio:17' (shown in snapshots).
// - `open()` takes control of the LED. It is idempotent. It rejects with HAL_ERR_UNAVAILABLE when
//   the LED does not exist here (no such sysfs entry, no such pin, pin busy).
// - `set(on)` lights or darkens it. Before open() or after close() it rejects with
//   HAL_ERR_UNAVAILABLE; a failed write rejects with HAL_ERR_IO. Setting the level it already
//   has is allowed and harmless (the runner re-asserts levels after errors).
// - `close()` leaves the LED dark or hands it back to whoever had it before (the kernel trigger
//   for on-board LEDs). It is idempotent and the driver may be opened again afterwards.
//
// Drivers do not time anything themselves: the pattern runner in status-led.ts decides when to
// call set(), so every driver shows exactly the same pattern.

export interface LedDriver {
  readonly id: string;
  open(): Promise<void>;
  set(on: boolean): Promise<void>;
  close(): Promise<void>;
}
