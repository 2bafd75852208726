// systemctl in a guest: unit properties and waiting for a unit to be active.
import type { FullGuest } from './full-guest.js';

/** `systemctl show -p …` as a record. */
export async function props(g: FullGuest, unit: string, names: readonly string[]): Promise<Record<string, string>> {
  const out = await g.run(`systemctl show ${unit} ${names.map((n) => `-p ${n}`).join(' ')}`);
  const record: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) record[line.slice(0, i)] = line.slice(i + 1);
  }
  return record;
}

/** `systemctl is-active` (active, activating, inactive, failed, …). */
export async function unitActive(g: FullGuest, unit: string): Promise<string> {
  return (await g.exec(`systemctl is-active ${unit}`)).stdout.trim();
}

/** Waits until the unit is active (Type=notify: after READY=1); fails early on `failed`. */
export async function waitUnitActive(g: FullGuest, unit: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let state = '';
  while (Date.now() < until) {
    state = await unitActive(g, unit);
    if (state === 'active') return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const journal = await g.exec(`journalctl -u ${unit} --no-pager -n 40 -o cat`);
  throw new Error(`${unit} is ${state}, not active, after ${timeoutMs} ms\n${journal.stdout}`);
}
