// A minimal ustar writer for offline bundles and test archives: regular files (from a Buffer or
// a file on disk, streamed), directories and links, names up to 100 bytes (+155 prefix), fixed
// mtime. Returned as an async generator of chunks, so a multi-GB bundle never sits in memory.
import { createReadStream } from 'node:fs';

const BLOCK = 512;

export interface TarInput {
  readonly path: string;
  readonly type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  readonly linkname?: string;
  /** File content: bytes, or a file to stream with its size. */
  readonly data?: Buffer;
  readonly file?: { readonly path: string; readonly size: number };
  /** Raw typeflag override (tests write devices and other odd entries with it). */
  readonly typeflag?: string;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function split(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  const i = name.lastIndexOf('/', name.length - 2);
  if (i > 0 && Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100) {
    return { name: name.slice(i + 1), prefix: name.slice(0, i) };
  }
  throw new Error(`tar name too long for ustar: ${name}`);
}

export function tarHeader(e: TarInput, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = split(e.path);
  const type = e.type ?? 'file';
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644), 8), 100, 'ascii');
  h.write(octal(e.uid ?? 0, 8), 108, 'ascii');
  h.write(octal(e.gid ?? 0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(e.mtime ?? 0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.typeflag ?? { file: '0', dir: '5', symlink: '2', hardlink: '1' }[type], 156, 'ascii');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

const pad = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

export async function* tarChunks(entries: Iterable<TarInput> | AsyncIterable<TarInput>): AsyncGenerator<Buffer> {
  for await (const e of entries) {
    const size = e.data?.length ?? e.file?.size ?? 0;
    yield tarHeader(e, size);
    if (e.data) yield e.data;
    else if (e.file) {
      let read = 0;
      for await (const chunk of createReadStream(e.file.path)) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (read !== size) throw new Error(`${e.file.path} changed size while archiving`);
    }
    yield pad(size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** The whole archive in memory (tests and small archives only). */
export async function tarBuffer(entries: Iterable<TarInput>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarChunks(entries)) parts.push(c);
  return Buffer.concat(parts);
}
