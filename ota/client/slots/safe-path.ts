// Path rules for unpacking an image layer into a slot: every name in the archive is made
// relative to the slot root and checked lexically, and every directory on the way to it must be
// a real directory inside the slot (never a symlink), so nothing an archive says can reach
// outside the slot — not `..`, not an absolute path, not a symlink planted by an earlier entry.
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LucidError, errnoCode } from '../../../services/common/errors.js';

function escape(message: string, path: string): LucidError {
  return new LucidError('OTA_ERR_TAR_ESCAPE', message, { path: path.slice(0, 300) });
}

/**
 * The archive name as a clean relative path (`a/b/c`), or '' for the root itself. Refuses
 * absolute names, `..` anywhere, NUL and newlines (the host step reads paths line by line).
 */
export function cleanEntryPath(name: string): string {
  if (name.includes('\0') || name.includes('\n')) throw escape('entry name contains NUL or a newline', name);
  let rest = name;
  while (rest.startsWith('./')) rest = rest.slice(2);
  if (rest.startsWith('/')) throw escape(`absolute entry name ${JSON.stringify(name.slice(0, 200))}`, name);
  const parts = rest.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw escape(`entry name with .. ${JSON.stringify(name.slice(0, 200))}`, name);
  return parts.join('/');
}

/**
 * A symlink's target must stay inside the slot when resolved from the link's directory. Absolute
 * targets are fine: the slot is the root of the file system the image runs in (systemd's
 * RootDirectory=), so `/lib/x` means `<slot>/lib/x` there.
 */
export function checkSymlinkTarget(linkPath: string, target: string): void {
  if (target === '' || target.includes('\0')) throw escape('empty symlink target', linkPath);
  if (target.startsWith('/')) return;
  // Walk it from the link's folder without clamping at the root (posix.normalize would turn
  // `/../x` into `/x`): seen from the host, a target that climbs above the slot points out.
  let depth = linkPath.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) throw escape(`symlink ${linkPath} → ${target} points outside the slot`, linkPath);
  }
}

/**
 * Makes sure every parent directory of `rel` exists below `root` as a real directory. A missing
 * one is created (0755, as tar does for implied parents); a symlink on the way is an escape; a
 * file on the way is replaced by a directory (a later layer turned a file into a folder).
 * `known` caches directories already checked during this layer.
 */
export async function ensureParents(root: string, rel: string, known: Set<string>, onCreate?: (dir: string) => void): Promise<void> {
  const parts = rel.split('/');
  let prefix = '';
  for (let i = 0; i < parts.length - 1; i++) {
    prefix = prefix ? `${prefix}/${parts[i]}` : parts[i]!;
    if (known.has(prefix)) continue;
    const full = join(root, prefix);
    const st = await lstat(full).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    });
    if (st?.isSymbolicLink()) throw escape(`${rel} would be written through the symlink ${prefix}`, rel);
    if (st && !st.isDirectory()) await rm(full, { force: true });
    if (!st?.isDirectory()) {
      await mkdir(full);
      await chmod(full, 0o755); // recorded as 0755: not left to the process umask (the unit's is 0077)
      onCreate?.(prefix);
    }
    known.add(prefix);
  }
}

/** For a hardlink: the target must already exist in the slot as a regular file, reached without symlinks. */
export async function checkHardlinkTarget(root: string, linkPath: string, targetName: string, known: Set<string>): Promise<string> {
  let target: string;
  try {
    target = cleanEntryPath(targetName);
  } catch {
    throw escape(`hardlink ${linkPath} → ${targetName} points outside the slot`, linkPath);
  }
  if (target === '') throw escape(`hardlink ${linkPath} to the slot root`, linkPath);
  await ensureParentsExistNoSymlink(root, target, known, linkPath);
  const st = await lstat(join(root, target)).catch(() => null);
  if (!st?.isFile()) throw escape(`hardlink ${linkPath} → ${target}: not a regular file in the slot`, linkPath);
  return target;
}

async function ensureParentsExistNoSymlink(root: string, rel: string, known: Set<string>, forPath: string): Promise<void> {
  const parts = rel.split('/');
  let prefix = '';
  for (let i = 0; i < parts.length - 1; i++) {
    prefix = prefix ? `${prefix}/${parts[i]}` : parts[i]!;
    if (known.has(prefix)) continue;
    const st = await lstat(join(root, prefix)).catch(() => null);
    if (!st?.isDirectory()) throw escape(`hardlink ${forPath} → ${rel}: ${prefix} is not a directory of the slot`, forPath);
  }
}
