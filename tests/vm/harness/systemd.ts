// systemctl in a guest: unit properties and waiting for a unit to be active.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { VM_CACHE } from './cache.js';
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
  throw new Error(`${unit} is ${state}, not active, after ${timeoutMs} ms\n${await unitDiagnosis(g, unit, 60)}`);
}

/**
 * What to know when a unit was slow or failed: its restart count and state, and its journal's
 * tail (`journalctl -u <unit> -n 200`). Never throws: it is called from error paths.
 */
export async function unitDiagnosis(g: FullGuest, unit: string, lines = 200): Promise<string> {
  const r = await g.exec(`systemctl show ${unit} -p NRestarts,ActiveState,SubState,Result,StatusText,ExecMainStartTimestamp; ` +
    `echo "--- journalctl -u ${unit} -n ${lines}"; journalctl -u ${unit} -n ${lines} --no-pager -o short-monotonic`, 60_000)
    .catch((e: unknown) => ({ code: -1, stdout: '', stderr: String(e) }));
  return `${r.stdout}${r.stderr}`;
}

/**
 * The guest's whole journal of this boot into `.cache/vm/logs/<name>-journal-<label>.log` (the
 * journal is volatile: save it before a reboot). Returns the file; never throws.
 */
export async function saveJournal(g: FullGuest, name: string, label: string): Promise<string> {
  const file = join(VM_CACHE, 'logs', `${name}-journal-${label}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const r = await g.exec('journalctl -b --no-pager -o short-monotonic', 120_000).catch((e: unknown) => ({ stdout: '', stderr: String(e) }));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${r.stdout}${r.stderr}`);
  return file;
}

/**
 * Runs one phase of a test and returns its seconds. If it fails or takes longer than `slowS`,
 * prints the unit's diagnosis (so a slow run says why), then rethrows a failure with it attached.
 */
export async function timedPhase(g: FullGuest, unit: string, label: string, slowS: number, fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  try {
    await fn();
  } catch (err) {
    const why = await unitDiagnosis(g, unit);
    console.log(`[vm] ${label} FAILED after ${seconds(started)} s\n${why}`);
    if (err instanceof Error) err.message += `\n--- ${label}: ${unit}\n${why.slice(-6000)}`;
    throw err;
  }
  const s = seconds(started);
  if (s > slowS) console.log(`[vm] ${label} slow: ${s} s (> ${slowS} s)\n${await unitDiagnosis(g, unit)}`);
  return s;
}

const seconds = (since: number): number => Math.round((performance.now() - since) / 100) / 10;
