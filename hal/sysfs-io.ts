// Small helpers for the text files of sysfs and procfs. Every real driver takes a `root` so tests
// can point it at a fake tree built in a temp dir; production passes '/'.
import { constants } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/**
 * Joins an absolute kernel path ('/sys/class/leds') under a root. `join` rather than `resolve`
 * so that the kernel path's leading '/' does not discard the root.
 */
export function underRoot(root: string, kernelPath: string): string {
  if (!isAbsolute(kernelPath)) throw new TypeError(`kernel path must be absolute: ${kernelPath}`);
  return join(root, kernelPath);
}

/** Reads a whole text file, or null when it is missing or unreadable. Never throws. */
export async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Reads a file holding one integer (sysfs style, trailing newline). Null when absent/garbled. */
export async function readIntOrNull(path: string): Promise<number | null> {
  const text = await readTextOrNull(path);
  if (text === null) return null;
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Writes a sysfs attribute. O_WRONLY|O_TRUNC without O_CREAT: on real sysfs a missing attribute
 * must fail (ENOENT) instead of silently becoming a plain file, and in a fake tree O_TRUNC makes
 * '0' replace '255' rather than leave '055'. Throws the raw system error; callers wrap it.
 */
export async function writeAttr(path: string, text: string): Promise<void> {
  await writeFile(path, text, { flag: constants.O_WRONLY | constants.O_TRUNC });
}

/** True when the path exists and is a directory (sysfs class entries are directories/links). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
