// The layer unpacker: what a well-formed layer becomes on disk (types, modes, times, owners,
// whiteouts), and every way an archive could try to write outside its slot — each refused with
// OTA_ERR_TAR_ESCAPE and nothing written outside.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer } from '../../../ota/client/slots/unpack.js';
import { readTarEntries } from '../../../ota/shared/tar/tar-reader.js';
import { tarBuffer, type TarInput } from '../../../ota/shared/tar/tar-writer.js';
import { isLucidError } from '../../../services/common/errors.js';

let dir: string;
let root: string;
let outside: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lucid-unpack-'));
  root = join(dir, 'slot', 'rootfs');
  outside = join(dir, 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'keep me');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function apply(entries: TarInput[], maxBytes = 1 << 30): Promise<Awaited<ReturnType<typeof applyLayer>>> {
  const tar = await tarBuffer(entries);
  return applyLayer(root, [tar], { maxBytes });
}

async function refused(entries: TarInput[], code: string): Promise<void> {
  const err = await apply(entries).then(() => null, (e: unknown) => e);
  expect(isLucidError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect(readdirSync(outside)).toEqual(['secret']);
  expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('keep me');
}

const file = (path: string, text: string, extra: Partial<TarInput> = {}): TarInput => ({ path, data: Buffer.from(text), mtime: 1_700_000_000, ...extra });

describe('applyLayer', () => {
  it('unpacks files, directories, symlinks and hard links with the modes, times and owners the archive says', async () => {
    const record = await apply([
      { path: 'usr/', type: 'dir', mode: 0o755, mtime: 1_600_000_000 },
      { path: 'usr/bin/', type: 'dir', mode: 0o750 },
      file('usr/bin/tool', '#!tool', { mode: 0o755 }),
      file('etc/config', 'a=1', { mode: 0o640, uid: 65532, gid: 65532 }),
      { path: 'lib64/ld.so', type: 'symlink', linkname: '/usr/lib/ld.so' },
      { path: 'usr/lib/zone', type: 'symlink', linkname: '../bin/tool' },
      { path: 'usr/bin/tool2', type: 'hardlink', linkname: 'usr/bin/tool' },
      { path: 'data/', type: 'dir', mode: 0o700, uid: 65532, gid: 65532 },
    ]);
    expect(readFileSync(join(root, 'usr/bin/tool'), 'utf8')).toBe('#!tool');
    expect(statSync(join(root, 'usr/bin/tool')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(root, 'usr/bin')).mode & 0o7777).toBe(0o750);
    expect(statSync(join(root, 'etc/config')).mode & 0o7777).toBe(0o640);
    expect(statSync(join(root, 'usr/bin/tool')).mtimeMs).toBe(1_700_000_000_000);
    expect(statSync(join(root, 'usr')).mtimeMs).toBe(1_600_000_000_000);
    expect(readlinkSync(join(root, 'lib64/ld.so'))).toBe('/usr/lib/ld.so');
    expect(statSync(join(root, 'usr/bin/tool2')).ino).toBe(statSync(join(root, 'usr/bin/tool')).ino);
    // Owners other than root:root are recorded (the host step applies them) and, as root, set.
    expect(record.owners).toEqual([[65532, 65532, 0o640, 'etc/config'], [65532, 65532, 0o700, 'data']]);
    if (process.getuid?.() === 0) expect(statSync(join(root, 'etc/config')).uid).toBe(65532);
    expect(record.bytes).toBe(9);
    expect(record.entries.map(([p, k]) => `${k} ${p}`)).toEqual([
      'd usr', 'd usr/bin', 'f usr/bin/tool', 'd etc', 'f etc/config', 'd lib64', 'l lib64/ld.so', 'd usr/lib', 'l usr/lib/zone', 'h usr/bin/tool2', 'd data',
    ]);
  });

  it('applies OCI whiteouts: a deleted file, and an opaque directory that keeps only this layer\'s entries', async () => {
    await apply([file('app/old.js', 'old'), file('app/keep/x', 'x'), file('etc/gone', 'g'), file('etc/stay', 's')]);
    const record = await apply([
      file('app/new.js', 'new'),
      { path: 'app/.wh..wh..opq', data: Buffer.alloc(0) },
      { path: 'etc/.wh.gone', data: Buffer.alloc(0) },
    ]);
    expect(readdirSync(join(root, 'app'))).toEqual(['new.js']);
    expect(readdirSync(join(root, 'etc'))).toEqual(['stay']);
    expect(record.whiteouts).toEqual(['app/', 'etc/gone']);
  });

  it('replaces what a lower layer had: a file by a directory, a directory by a symlink', async () => {
    await apply([file('a', 'file'), file('b/inner', 'x')]);
    await apply([file('a/now-a-dir', 'y'), { path: 'b', type: 'symlink', linkname: '/elsewhere' }]);
    expect(readFileSync(join(root, 'a/now-a-dir'), 'utf8')).toBe('y');
    expect(lstatSync(join(root, 'b')).isSymbolicLink()).toBe(true);
  });

  it('refuses absolute names and ..', async () => {
    await refused([file(`/${join(outside, 'x').slice(1)}`, 'evil')], 'OTA_ERR_TAR_ESCAPE');
    await refused([file('../../outside/x', 'evil')], 'OTA_ERR_TAR_ESCAPE');
    await refused([file('a/../../../outside/x', 'evil')], 'OTA_ERR_TAR_ESCAPE');
  });

  it('refuses a symlink that climbs out of the slot, and writing through a symlink to outside', async () => {
    await refused([{ path: 'link', type: 'symlink', linkname: '../../../outside' }], 'OTA_ERR_TAR_ESCAPE');
    // An absolute link is allowed (it resolves inside the slot when the image runs)…
    await refused([{ path: 'etc', type: 'symlink', linkname: outside }, file('etc/secret', 'overwritten')], 'OTA_ERR_TAR_ESCAPE');
    // …but nothing is ever written through a symlink, not even one made by an earlier layer.
    rmSync(root, { recursive: true });
    mkdirSync(root);
    await apply([{ path: 'opt', type: 'symlink', linkname: outside }]);
    await refused([file('opt/secret', 'overwritten')], 'OTA_ERR_TAR_ESCAPE');
    await refused([{ path: 'opt/.wh.secret', data: Buffer.alloc(0) }], 'OTA_ERR_TAR_ESCAPE');
  });

  it('refuses hard links to outside, to symlinks and to missing files', async () => {
    await refused([{ path: 'h', type: 'hardlink', linkname: '../outside/secret' }], 'OTA_ERR_TAR_ESCAPE');
    await refused([{ path: 'h', type: 'hardlink', linkname: join(outside, 'secret') }], 'OTA_ERR_TAR_ESCAPE');
    await refused([{ path: 'l', type: 'symlink', linkname: join(outside, 'secret') }, { path: 'h', type: 'hardlink', linkname: 'l' }], 'OTA_ERR_TAR_ESCAPE');
    await refused([{ path: 'd', type: 'symlink', linkname: outside }, { path: 'h', type: 'hardlink', linkname: 'd/secret' }], 'OTA_ERR_TAR_ESCAPE');
  });

  it('refuses device nodes and fifos, and more bytes than the release allows', async () => {
    await refused([{ path: 'dev/sda', typeflag: '4' }], 'OTA_ERR_TAR_UNSUPPORTED');
    await refused([{ path: 'fifo', typeflag: '6' }], 'OTA_ERR_TAR_UNSUPPORTED');
    const err = await apply([file('a', 'x'.repeat(600)), file('b', 'y'.repeat(600))], 1000).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('OTA_ERR_TOO_LARGE');
  });
});

describe('readTarEntries', () => {
  it('reads pax long names and refuses a header with a bad checksum or a truncated body', async () => {
    const longName = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const record = ` path=${longName}\n`;
    const pax = `${record.length + String(record.length + 3).length}${record}`;
    const tar = await tarBuffer([{ path: 'PaxHeader/x', typeflag: 'x', data: Buffer.from(pax) }, file('short', 'content')]);
    const names: string[] = [];
    for await (const e of readTarEntries([tar])) names.push(e.path);
    expect(names).toEqual([longName]);

    const corrupt = Buffer.from(tar);
    corrupt[1024 + 10] = 0x41; // the file header's name, after the pax record
    await expect((async () => { for await (const _ of readTarEntries([corrupt])) { /* read */ } })()).rejects.toMatchObject({ code: 'OTA_ERR_BAD_TAR' });
    const cut = tar.subarray(0, 1024 + 512 + 3);
    await expect((async () => {
      for await (const e of readTarEntries([cut])) for await (const _ of e.body()) { /* read */ }
    })()).rejects.toMatchObject({ code: 'OTA_ERR_BAD_TAR' });
  });

  it('skips an unread body and hands out the next entry intact', async () => {
    const tar = await tarBuffer([file('a', 'x'.repeat(1000)), file('b', 'second')]);
    const seen: Array<[string, string]> = [];
    for await (const e of readTarEntries([tar.subarray(0, 700), tar.subarray(700)])) {
      if (e.path === 'b') seen.push([e.path, Buffer.concat(await (async () => { const c: Buffer[] = []; for await (const x of e.body()) c.push(x); return c; })()).toString()]);
      else seen.push([e.path, '']);
    }
    expect(seen).toEqual([['a', ''], ['b', 'second']]);
    expect(existsSync(root)).toBe(true);
  });
});
