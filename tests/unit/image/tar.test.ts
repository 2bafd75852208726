// The deterministic tar writer and its reader: same tree → same bytes, GNU tar reads what we
// write (long names through ustar prefix and pax), modes and owners come out as put in.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readTar, tarStream } from '../../../image/build/tar.js';
import { Tree } from '../../../image/build/tree.js';

async function bytes(tree: Tree, mtime: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(tree, mtime)) chunks.push(c);
  return Buffer.concat(chunks);
}

const LONG_DIR = `a/${'d'.repeat(120)}/${'e'.repeat(60)}`;
const VERY_LONG = `x/${'y'.repeat(180)}/${'z'.repeat(150)}.txt`;

function sample(): Tree {
  return new Tree()
    .file('etc/passwd', 'root:x:0:0::/:/sbin/nologin\n')
    .file(`${LONG_DIR}/file.bin`, Buffer.alloc(1000, 7), 0o755)
    .file(VERY_LONG, 'long')
    .symlink('lib64/ld.so', `/lib/${'l'.repeat(120)}/ld.so`)
    .dir('tmp', 0o1777)
    .dir('data', 0o700, { uid: 65532, gid: 65532 });
}

describe('tar writer', () => {
  it('writes the same bytes for the same tree, whatever the insertion order', async () => {
    const a = await bytes(sample(), 1_700_000_000);
    const reversed = new Tree();
    const entries = [...sample().entries].reverse();
    for (const [path, e] of entries) reversed.entries.set(path, e);
    const b = await bytes(reversed, 1_700_000_000);
    expect(createHash('sha256').update(a).digest('hex')).toBe(createHash('sha256').update(b).digest('hex'));
    expect(a.length % 512).toBe(0);
    expect((await bytes(sample(), 1_700_000_001)).equals(a)).toBe(false);
  });

  it('is read back with paths, types, modes, owners and one mtime', async () => {
    const entries = readTar(await bytes(sample(), 1_700_000_000));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(entries.map((e) => e.path)).toEqual([...entries.map((e) => e.path)].sort((x, y) => (x < y ? -1 : 1)));
    expect(byPath.get('etc')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0 });
    expect(byPath.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(byPath.get('data')).toMatchObject({ type: 'dir', mode: 0o700, uid: 65532, gid: 65532 });
    expect(byPath.get(`${LONG_DIR}/file.bin`)).toMatchObject({ type: 'file', mode: 0o755, size: 1000 });
    expect(byPath.get(VERY_LONG)!.data.toString()).toBe('long');
    expect(byPath.get('lib64/ld.so')).toMatchObject({ type: 'symlink', linkname: `/lib/${'l'.repeat(120)}/ld.so` });
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([1_700_000_000]));
  });

  it('is a tar GNU tar lists and extracts identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-tar-'));
    const file = join(dir, 'layer.tar');
    writeFileSync(file, await bytes(sample(), 1_700_000_000));
    const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed).toContain(VERY_LONG);
    expect(listed).toContain(`${LONG_DIR}/file.bin`);
    const out = join(dir, 'x');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(execFileSync('cat', [join(out, VERY_LONG)], { encoding: 'utf8' })).toBe('long');
    expect(execFileSync('tar', ['-tvf', file], { encoding: 'utf8' })).toMatch(/drwx------ 65532\/65532 .* data\//);
  });

  it('takes host folders with normalised modes, no setuid bits, and keeps hard links linked', async () => {
    const host = mkdtempSync(join(tmpdir(), 'lucid-tree-'));
    writeFileSync(join(host, 'tool'), 'x');
    chmodSync(join(host, 'tool'), 0o4750);
    writeFileSync(join(host, 'data.txt'), 'y');
    chmodSync(join(host, 'data.txt'), 0o600);
    linkSync(join(host, 'data.txt'), join(host, 'alias.txt'));
    symlinkSync('data.txt', join(host, 'link'));
    const tree = await new Tree().addHost(host, 'opt', (rel) => rel !== 'skipped');
    const entries = readTar(await bytes(tree, 1));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('opt/tool')!.mode).toBe(0o755);
    expect(byPath.get('opt/data.txt')!.mode).toBe(0o644);
    expect(byPath.get('opt/alias.txt')).toMatchObject({ type: 'file', size: 1 }); // first in sorted order
    expect(byPath.get('opt/data.txt')).toMatchObject({ type: 'hardlink', linkname: 'opt/alias.txt' });
    expect(byPath.get('opt/link')).toMatchObject({ type: 'symlink', linkname: 'data.txt' });
  });
});
