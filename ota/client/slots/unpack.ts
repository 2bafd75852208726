// Applies one OCI layer (a tar stream, already gunzipped) to a slot's root file system, the way a
// container runtime would: entries in order, OCI whiteouts (`.wh.<name>` deletes a lower entry,
// `.wh..wh..opq` empties a directory of lower content), modes and mtimes as the archive says,
// owners recorded (and applied when we run as root). Every path goes through safe-path.ts.
// Files are fsynced before the layer counts as applied (a pool keeps a few syncs in flight).
import { chmod, lchown, link, lstat, mkdir, open, readdir, rm, symlink, utimes, lutimes, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { LucidError } from '../../../services/common/errors.js';
import { readTarEntries, type TarEntry } from '../../shared/tar/tar-reader.js';
import { checkHardlinkTarget, checkSymlinkTarget, cleanEntryPath, ensureParents } from './safe-path.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** What one layer did to the slot, kept beside it so the slot can later share or undo the layer. */
export interface LayerRecord {
  /** Paths this layer created or replaced, with their kind. */
  readonly entries: ReadonlyArray<readonly [path: string, kind: 'f' | 'd' | 'l' | 'h', mode: number]>;
  /** Paths (and directories emptied, suffixed '/') this layer's whiteouts removed. */
  readonly whiteouts: readonly string[];
  /** Entries whose owner is not root:root, or that carry setuid/setgid bits: [uid, gid, mode, path]. */
  readonly owners: ReadonlyArray<readonly [number, number, number, string]>;
  /** Uncompressed bytes of file content written. */
  readonly bytes: number;
}

export interface ApplyOptions {
  /** Most file bytes this layer may write (from the signed release); more is an error. */
  readonly maxBytes: number;
  /** lchown entries to their archive owner (only possible as root). Default: when running as root. */
  readonly chown?: boolean;
  /** Files whose fsync may be in flight at once. */
  readonly syncConcurrency?: number;
  /** Most entries (an archive of millions of empty files is an inode bomb). Default 200,000. */
  readonly maxEntries?: number;
}

type Kind = 'f' | 'd' | 'l' | 'h';

export async function applyLayer(root: string, tar: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ApplyOptions): Promise<LayerRecord> {
  const chown = options.chown ?? process.getuid?.() === 0;
  const known = new Set<string>();
  const created = new Map<string, Kind>();
  const entries: Array<[string, Kind, number]> = [];
  const whiteouts: string[] = [];
  const owners: Array<[number, number, number, string]> = [];
  const dirs: Array<{ path: string; mode: number; mtime: number }> = [];
  const syncs = new Set<Promise<void>>();
  const limit = options.syncConcurrency ?? 8;
  let bytes = 0;

  const forget = (rel: string): void => {
    known.delete(rel);
    for (const k of known) if (k.startsWith(`${rel}/`)) known.delete(k);
  };
  const removeExisting = async (full: string, rel: string, keepDir: boolean): Promise<void> => {
    const st = await lstat(full).catch(() => null);
    if (!st || (keepDir && st.isDirectory())) return;
    await rm(full, { recursive: true, force: true });
    forget(rel);
  };
  const track = (p: Promise<void>): void => {
    const tracked = p.finally(() => syncs.delete(tracked));
    syncs.add(tracked);
  };

  let count = 0;
  for await (const entry of readTarEntries(tar)) {
    if (++count > (options.maxEntries ?? 200_000)) throw new LucidError('OTA_ERR_TOO_LARGE', `layer has more than ${options.maxEntries ?? 200_000} entries`);
    const rel = cleanEntryPath(entry.path);
    const base = posix.basename(rel);
    if (rel === '') {
      if (entry.type !== 'dir') throw new LucidError('OTA_ERR_TAR_ESCAPE', 'an entry replaces the slot root', { path: entry.path });
      continue;
    }
    await ensureParents(root, rel, known, (dir) => {
      created.set(dir, 'd');
      entries.push([dir, 'd', 0o755]);
    });
    const full = join(root, rel);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await whiteout(root, rel, base, created, known);
      const dirRel = posix.dirname(rel) === '.' ? '' : `${posix.dirname(rel)}/`;
      whiteouts.push(base === OPAQUE_WHITEOUT ? dirRel || '/' : `${dirRel}${base.slice(WHITEOUT_PREFIX.length)}`);
      continue;
    }
    switch (entry.type) {
      case 'dir': {
        await removeExisting(full, rel, true);
        await mkdir(full, { mode: 0o700 }).catch((err: { code?: string }) => { if (err.code !== 'EEXIST') throw err; });
        known.add(rel);
        dirs.push({ path: full, mode: entry.mode, mtime: entry.mtime });
        created.set(rel, 'd');
        entries.push([rel, 'd', entry.mode]);
        break;
      }
      case 'file': {
        if (bytes + entry.size > options.maxBytes) {
          throw new LucidError('OTA_ERR_TOO_LARGE', `layer unpacks to more than the ${options.maxBytes} bytes the release allows`, { maxBytes: options.maxBytes });
        }
        await removeExisting(full, rel, false);
        const handle = await open(full, 'wx', 0o600);
        try {
          await writeBody(handle, entry);
          await handle.chmod(entry.mode & 0o7777);
        } catch (err) {
          await handle.close().catch(() => {});
          throw err;
        }
        bytes += entry.size;
        track(handle.sync().finally(() => handle.close()));
        if (syncs.size >= limit) await Promise.race(syncs);
        await utimes(full, entry.mtime, entry.mtime);
        created.set(rel, 'f');
        entries.push([rel, 'f', entry.mode]);
        break;
      }
      case 'symlink': {
        checkSymlinkTarget(rel, entry.linkname);
        await removeExisting(full, rel, false);
        await symlink(entry.linkname, full);
        await lutimes(full, entry.mtime, entry.mtime).catch(() => {});
        created.set(rel, 'l');
        entries.push([rel, 'l', 0o777]);
        break;
      }
      case 'hardlink': {
        const target = await checkHardlinkTarget(root, rel, entry.linkname, known);
        if (target === rel) break;
        await removeExisting(full, rel, false);
        await link(join(root, target), full);
        created.set(rel, 'h');
        entries.push([rel, 'h', entry.mode]);
        break;
      }
      default:
        throw new LucidError('OTA_ERR_TAR_UNSUPPORTED', `entry ${rel} has tar type ${JSON.stringify(entry.typeflag)} (devices and fifos are not unpacked)`, { path: rel });
    }
    if (entry.type !== 'hardlink' && (entry.uid !== 0 || entry.gid !== 0 || (entry.mode & 0o6000) !== 0)) {
      owners.push([entry.uid, entry.gid, entry.mode & 0o7777, rel]);
    }
    if (chown && entry.type !== 'hardlink') await lchown(full, entry.uid, entry.gid);
    if (chown && entry.type === 'file' && (entry.mode & 0o6000) !== 0) await chmod(full, entry.mode & 0o7777);
  }
  await Promise.all(syncs);
  // Directory modes and times last, deepest first: writing into a directory changes its mtime,
  // and a read-only directory mode would have stopped us writing into it.
  for (const d of dirs.sort((a, b) => b.path.length - a.path.length)) {
    await chmod(d.path, d.mode & 0o7777);
    await utimes(d.path, d.mtime, d.mtime);
  }
  await syncDirs(root, [...new Set(entries.map(([p]) => posix.dirname(p)))]);
  return { entries, whiteouts, owners, bytes };
}

async function writeBody(handle: FileHandle, entry: TarEntry): Promise<void> {
  let written = 0;
  for await (const chunk of entry.body()) {
    for (let off = 0; off < chunk.length;) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
    written += chunk.length;
  }
  if (written !== entry.size) throw new LucidError('OTA_ERR_BAD_TAR', `entry ${entry.path}: ${written} of ${entry.size} bytes`);
}

async function whiteout(root: string, rel: string, base: string, created: Map<string, Kind>, known: Set<string>): Promise<void> {
  const dirRel = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
  if (base === OPAQUE_WHITEOUT) {
    // Lower layers' content of this directory goes; what this layer already put there stays.
    const dir = join(root, dirRel);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const child = dirRel ? `${dirRel}/${name}` : name;
      if (created.has(child)) continue;
      await rm(join(dir, name), { recursive: true, force: true });
      for (const k of [...known]) if (k === child || k.startsWith(`${child}/`)) known.delete(k);
    }
    return;
  }
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') throw new LucidError('OTA_ERR_TAR_ESCAPE', `bad whiteout ${rel}`, { path: rel });
  const target = dirRel ? `${dirRel}/${name}` : name;
  await rm(join(root, target), { recursive: true, force: true });
  for (const k of [...known]) if (k === target || k.startsWith(`${target}/`)) known.delete(k);
}

/** fsync the directories that gained entries (so the names, not only the data, are durable). */
async function syncDirs(root: string, rels: readonly string[]): Promise<void> {
  const all = [...new Set(rels.map((r) => (r === '.' ? root : join(root, r))))];
  for (let i = 0; i < all.length; i += 16) {
    await Promise.all(all.slice(i, i + 16).map(async (d) => {
      const h = await open(d, 'r').catch(() => null);
      if (!h) return;
      try { await h.sync(); } finally { await h.close(); }
    }));
  }
}
