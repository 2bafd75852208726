// Durable file writes: temp file, fsync, rename, directory fsync. After this resolves the new
// content survives a power cut; before it, the old content (or nothing) does — never a mix.
import { open, rename, mkdir, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface AtomicWriteOptions {
  /** File mode of the new file (e.g. 0o600 for keys); applied at creation, never widened later. */
  readonly mode?: number;
  /** Skip the directory fsync when the caller syncs the directory once for many files. */
  readonly syncDir?: boolean;
  /** Skip creating the directory when the caller knows it exists (one file-system call less on a hot path). */
  readonly mkdir?: boolean;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  if (options.mkdir !== false) await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    // One write call for the whole buffer (FileHandle.writeFile cuts it into 512 KiB calls).
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let written = 0; written < bytes.length;) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  if (options.syncDir !== false) await fsyncDir(dir);
}

/** mkdir -p with a mode, fsyncing the parent so the new directory entry is durable. */
export async function mkdirDurable(path: string, mode = 0o700): Promise<void> {
  const created = await mkdir(path, { recursive: true, mode });
  if (created !== undefined) await fsyncDir(dirname(path));
}
