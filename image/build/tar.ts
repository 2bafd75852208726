// Deterministic POSIX tar (ustar, with pax headers only for names that do not fit), written from
// a Tree in sorted path order with one fixed mtime, and a reader for the same format (plus GNU
// long names) used by tests, the size report and unpacking. Same tree + same mtime → same bytes.
import { createReadStream } from 'node:fs';
import type { Tree, TreeEntry } from './tree.js';

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL.
  const s = value.toString(8);
  if (s.length > width - 1) throw new Error(`tar field overflow: ${value} in ${width} bytes`);
  return `${s.padStart(width - 1, '0')}\0`;
}

function splitUstar(name: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return { name: rest, prefix };
  }
  return null;
}

interface HeaderFields { name: string; mode: number; uid: number; gid: number; size: number; mtime: number; type: string; linkname?: string }

function header(f: HeaderFields): Buffer {
  const buf = Buffer.alloc(BLOCK);
  const split = splitUstar(f.name) ?? { name: f.name.slice(0, 100), prefix: '' };
  buf.write(split.name, 0, 100, 'utf8');
  buf.write(octal(f.mode, 8), 100, 'ascii');
  buf.write(octal(f.uid, 8), 108, 'ascii');
  buf.write(octal(f.gid, 8), 116, 'ascii');
  buf.write(octal(f.size, 12), 124, 'ascii');
  buf.write(octal(f.mtime, 12), 136, 'ascii');
  buf.write('        ', 148, 'ascii');
  buf.write(f.type, 156, 'ascii');
  if (f.linkname) buf.write(f.linkname.slice(0, 100), 157, 100, 'utf8');
  buf.write('ustar\0', 257, 'ascii');
  buf.write('00', 263, 'ascii');
  buf.write(split.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return buf;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Header blocks for one entry: a pax header first when the name or link target is too long. */
function headersFor(f: HeaderFields): Buffer[] {
  const records: string[] = [];
  if (!splitUstar(f.name)) records.push(paxRecord('path', f.name));
  if (f.linkname && Buffer.byteLength(f.linkname) > 100) records.push(paxRecord('linkpath', f.linkname));
  if (records.length === 0) return [header(f)];
  const pax = Buffer.from(records.join(''));
  const paxName = `PaxHeaders/${f.name.replace(/\/$/, '').split('/').pop()!.slice(0, 80)}`;
  return [header({ name: paxName, mode: 0o644, uid: 0, gid: 0, size: pax.length, mtime: f.mtime, type: 'x' }), pax, padding(pax.length), header(f)];
}

/**
 * The tar stream of a tree, as chunks. Files that share an inode are written once; later paths
 * become hard links to the first one in sorted order.
 */
export async function* tarStream(tree: Tree, mtime: number): AsyncGenerator<Buffer> {
  const firstOfInode = new Map<string, string>();
  for (const path of tree.sortedPaths()) {
    const e = tree.entries.get(path) as TreeEntry;
    const base = { uid: e.owner.uid, gid: e.owner.gid, mtime };
    if (e.kind === 'dir') {
      yield* headersFor({ ...base, name: `${path}/`, mode: e.mode, size: 0, type: '5' });
    } else if (e.kind === 'symlink') {
      yield* headersFor({ ...base, name: path, mode: 0o777, size: 0, type: '2', linkname: e.target });
    } else {
      const linked = e.inode ? firstOfInode.get(e.inode) : undefined;
      if (linked) {
        yield* headersFor({ ...base, name: path, mode: e.mode, size: 0, type: '1', linkname: linked });
        continue;
      }
      if (e.inode) firstOfInode.set(e.inode, path);
      yield* headersFor({ ...base, name: path, mode: e.mode, size: e.size, type: '0' });
      if (e.data) {
        yield e.data;
      } else if (e.source) {
        let read = 0;
        for await (const chunk of createReadStream(e.source)) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (read !== e.size) throw new Error(`${e.source} changed size while packing (${e.size} → ${read})`);
      }
      yield padding(e.size);
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}

export interface TarEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly linkname: string;
  /** File content (a view into the archive buffer). */
  readonly data: Buffer;
}

function field(buf: Buffer, offset: number, length: number): string {
  const raw = buf.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function parseNumber(buf: Buffer, offset: number, length: number): number {
  if ((buf[offset]! & 0x80) !== 0) {
    // GNU base-256 for large values.
    let v = 0;
    for (let i = offset + 1; i < offset + length; i++) v = v * 256 + buf[i]!;
    return v;
  }
  const s = field(buf, offset, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** Parses a whole (uncompressed) tar archive. */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | null = null;
  let longLink: string | null = null;
  while (pos + BLOCK <= archive.length) {
    const h = archive.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = parseNumber(h, 124, 12);
    const typeflag = String.fromCharCode(h[156] || 0x30);
    const data = archive.subarray(pos + BLOCK, pos + BLOCK + size);
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') { pax = { ...pax, ...parsePax(data) }; continue; }
    if (typeflag === 'g') continue;
    if (typeflag === 'L') { longName = field(data, 0, data.length); continue; }
    if (typeflag === 'K') { longLink = field(data, 0, data.length); continue; }
    const prefix = field(h, 345, 155);
    let name = pax['path'] ?? longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    const linkname = pax['linkpath'] ?? longLink ?? field(h, 157, 100);
    name = name.replace(/^\.\//, '');
    const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file'
      : typeflag === '5' ? 'dir' : typeflag === '2' ? 'symlink' : typeflag === '1' ? 'hardlink' : 'other';
    entries.push({
      path: name.replace(/\/$/, ''), type, mode: parseNumber(h, 100, 8), uid: parseNumber(h, 108, 8), gid: parseNumber(h, 116, 8),
      size, mtime: parseNumber(h, 136, 12), linkname, data,
    });
    pax = {};
    longName = null;
    longLink = null;
  }
  return entries;
}
