// A filesystem tree described in memory before it becomes a layer: every path with its type,
// mode and owner, file contents either in memory or at a host path. Paths are relative ('usr/lib/x').
// Modes are normalised when files come from the host (0755 if executable, else 0644; directories
// 0755) and never carry setuid/setgid bits, so a checkout's umask or a .deb's odd mode cannot leak
// into the image. Owners are 0 unless a caller says otherwise (only /data is 65532).
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

export interface Owner { readonly uid: number; readonly gid: number }
export const ROOT_OWNER: Owner = { uid: 0, gid: 0 };

export type TreeEntry =
  | { readonly kind: 'dir'; readonly mode: number; readonly owner: Owner }
  | { readonly kind: 'file'; readonly mode: number; readonly owner: Owner; readonly size: number; readonly data?: Buffer; readonly source?: string; readonly inode?: string }
  | { readonly kind: 'symlink'; readonly target: string; readonly owner: Owner };

/** Given a path relative to the walked folder and its lstat, keep it? Directories pruned skip their subtree. */
export type HostFilter = (relPath: string, isDir: boolean) => boolean;

function clean(path: string): string {
  const p = posix.normalize(path.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (p === '.' || p === '' || p.startsWith('..')) throw new Error(`bad tree path: ${path}`);
  return p;
}

export class Tree {
  readonly entries = new Map<string, TreeEntry>();

  /** Ensures a directory (and its parents). An existing directory keeps its mode unless `mode` is given. */
  dir(path: string, mode?: number, owner: Owner = ROOT_OWNER): this {
    const p = clean(path);
    const parent = posix.dirname(p);
    if (parent !== '.') this.dir(parent);
    const existing = this.entries.get(p);
    if (existing && existing.kind !== 'dir') throw new Error(`${p} exists and is not a directory`);
    if (!existing || mode !== undefined) this.entries.set(p, { kind: 'dir', mode: mode ?? 0o755, owner });
    return this;
  }

  file(path: string, content: Buffer | string, mode = 0o644, owner: Owner = ROOT_OWNER): this {
    const p = clean(path);
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    if (posix.dirname(p) !== '.') this.dir(posix.dirname(p));
    this.entries.set(p, { kind: 'file', mode: mode & 0o777, owner, size: data.length, data });
    return this;
  }

  hostFile(path: string, source: string, size: number, mode: number, inode?: string): this {
    const p = clean(path);
    if (posix.dirname(p) !== '.') this.dir(posix.dirname(p));
    this.entries.set(p, { kind: 'file', mode: normaliseMode(mode), owner: ROOT_OWNER, size, source, ...(inode ? { inode } : {}) });
    return this;
  }

  symlink(path: string, target: string, owner: Owner = ROOT_OWNER): this {
    const p = clean(path);
    if (posix.dirname(p) !== '.') this.dir(posix.dirname(p));
    this.entries.set(p, { kind: 'symlink', target, owner });
    return this;
  }

  /** Removes a path and everything below it. */
  remove(path: string): this {
    const p = clean(path);
    for (const key of [...this.entries.keys()]) if (key === p || key.startsWith(`${p}/`)) this.entries.delete(key);
    return this;
  }

  has(path: string): boolean {
    return this.entries.has(clean(path));
  }

  /**
   * Adds a host folder's content under `prefix` (files by reference, read when the layer is
   * written). Files that are hard links of each other (same inode) stay linked in the layer.
   */
  async addHost(hostDir: string, prefix: string, filter: HostFilter = () => true): Promise<this> {
    const walk = async (rel: string): Promise<void> => {
      const names = (await readdir(join(hostDir, rel))).sort();
      for (const name of names) {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        const host = join(hostDir, childRel);
        const st = await lstat(host);
        const dest = prefix === '' ? childRel : `${prefix}/${childRel}`;
        if (!filter(childRel, st.isDirectory())) continue;
        if (st.isDirectory()) {
          this.dir(dest, 0o755);
          await walk(childRel);
        } else if (st.isSymbolicLink()) {
          this.symlink(dest, await readlink(host));
        } else if (st.isFile()) {
          this.hostFile(dest, host, st.size, st.mode, st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined);
        }
        // Sockets, fifos and device nodes never belong in an image.
      }
    };
    if (prefix !== '') this.dir(prefix);
    await walk('');
    return this;
  }

  /** All paths in layer order: sorted by bytes, so a directory precedes its content. */
  sortedPaths(): string[] {
    return [...this.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Sum of file sizes (what the layer holds uncompressed, without tar headers). */
  contentBytes(): number {
    let total = 0;
    for (const e of this.entries.values()) if (e.kind === 'file') total += e.size;
    return total;
  }
}

export function normaliseMode(mode: number): number {
  return mode & 0o100 ? 0o755 : 0o644;
}
