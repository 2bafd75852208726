// The pure parts of the image builder: which files of the .debs and of npm packages go in, the
// lock-file closure of the external packages, licences from Debian copyright files, purls and
// canonical JSON.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseFilter } from '../../../image/build/base.js';
import { licensesFromCopyright } from '../../../image/build/debs.js';
import { closure, moduleFilter, resolveInLock, trimLock } from '../../../image/build/modules.js';
import { PLATFORMS } from '../../../image/build/recipe.js';
import { purlDeb, purlNpm } from '../../../image/build/sbom.js';
import { canonicalJson } from '../../../ota/shared/oci/index.js';
import { EXTERNAL } from '../../../image/bundle.mjs';
import { ROOT } from '../../helpers/appliance.js';

const arm64 = PLATFORMS.find((p) => p.arch === 'arm64')!;

describe('base layer filter', () => {
  const keep = baseFilter('aarch64-linux-gnu');
  it('keeps shared libraries, the loader, zoneinfo, certificates and copyright files', () => {
    for (const f of ['lib/aarch64-linux-gnu/libc.so.6', 'lib/ld-linux-aarch64.so.1', 'usr/lib/aarch64-linux-gnu/libstdc++.so.6.0.30',
      'usr/share/zoneinfo/Europe/Berlin', 'usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt', 'usr/share/doc/libc6/copyright',
      'usr/share/doc/libstdc++6', 'etc/services', 'etc/ld.so.conf.d/aarch64-linux-gnu.conf']) expect(keep(f, false), f).toBe(true);
  });
  it('drops programs, package tooling, docs, locales, gconv and leap-second zones', () => {
    for (const f of ['usr/sbin/update-ca-certificates', 'usr/share/doc/libc6/changelog.gz', 'usr/share/lintian/overrides/libc6',
      'usr/share/gcc/python/libstdcxx/v6/printers.py', 'usr/share/man/man8/x.8.gz']) expect(keep(f, false), f).toBe(false);
    for (const d of ['usr/bin', 'sbin', 'usr/lib/aarch64-linux-gnu/gconv', 'usr/share/zoneinfo/right', 'usr/share/locale', 'var',
      'usr/share/doc/ca-certificates/examples']) expect(keep(d, true), d).toBe(false);
  });
});

describe('node_modules filter', () => {
  it('keeps code, licences and this platform\'s binaries only', () => {
    const keep = moduleFilter(arm64, true, new Set(['bin.js']));
    expect(keep('index.js', false)).toBe(true);
    expect(keep('LICENSE', false)).toBe(true);
    expect(keep('README.md', false)).toBe(false);
    expect(keep('index.d.ts', false)).toBe(false);
    expect(keep('bin.js', false)).toBe(false);
    expect(keep('binding.cc', false)).toBe(false);
    expect(keep('prebuilds/linux-arm64', true)).toBe(true);
    expect(keep('prebuilds/linux-x64', true)).toBe(false);
    expect(keep('prebuilds/linux-arm64/x.armv8.node', false)).toBe(true);
    expect(keep('prebuilds/linux-arm64/x.musl.node', false)).toBe(false);
    expect(keep('build/Release', true)).toBe(true);
    expect(keep('build/Release/obj.target', true)).toBe(false);
    expect(keep('build/Release/epoll.node', false)).toBe(true);
    expect(keep('build/config.gypi', false)).toBe(false);
    expect(keep('node_modules', true)).toBe(false);
    expect(keep('test', true)).toBe(false);
  });
});

describe('lock closure', () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof trimLock>[0];
  it('resolves like Node: nested node_modules first, then upwards', () => {
    const packages = { 'node_modules/a': {}, 'node_modules/b': {}, 'node_modules/a/node_modules/b': {} };
    expect(resolveInLock(packages, 'node_modules/a', 'b')).toBe('node_modules/a/node_modules/b');
    expect(resolveInLock(packages, 'node_modules/b', 'a')).toBe('node_modules/a');
    expect(resolveInLock(packages, '', 'c')).toBeNull();
  });
  it('takes the externals and their dependencies, following the file: link of the sd_notify addon', () => {
    const paths = closure(lock.packages, EXTERNAL);
    expect(paths).toEqual(expect.arrayContaining(['node_modules/classic-level', 'node_modules/abstract-level', 'node_modules/onoff', 'node_modules/epoll', 'node_modules/bindings', 'node_modules/lucid-sd-notify']));
    expect(paths).not.toContain('node_modules/fastify');
    const trimmed = trimLock(lock, EXTERNAL);
    expect(trimmed.manifest).toMatchObject({ dependencies: { 'classic-level': expect.any(String) }, optionalDependencies: { onoff: expect.any(String), 'lucid-sd-notify': 'file:hal/system/sd-notify/native' } });
    expect(Object.keys(trimmed.lock.packages)).toContain('hal/system/sd-notify/native');
    expect(trimmed.lock.packages['node_modules/epoll']).toEqual(lock.packages['node_modules/epoll']);
  });
});

describe('SBOM helpers', () => {
  it('reads licences from DEP-5 and free-form Debian copyright files', () => {
    expect(licensesFromCopyright('Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n\nFiles: x\nLicense: MPL-2.0 or public-domain\n')).toEqual(['GPL-2.0-or-later', 'MPL-2.0', 'public-domain']);
    expect(licensesFromCopyright("found in `/usr/share/common-licenses/LGPL-2.1'.\nand /usr/share/common-licenses/GPL-2.\nGCC Runtime Library Exception")).toEqual(['GCC-exception-3.1', 'GPL-2', 'LGPL-2.1']);
  });
  it('spells purls with encoded scopes and versions', () => {
    expect(purlNpm('@fastify/ajv-compiler', '4.0.2')).toBe('pkg:npm/%40fastify/ajv-compiler@4.0.2');
    expect(purlDeb('libc6', '2.36-9+deb12u14', 'arm64')).toBe('pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=arm64&distro=debian-12');
  });
  it('writes canonical JSON with sorted keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});
