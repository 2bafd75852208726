// The distroless promise, checked on the layers themselves for both platforms: no shell, no
// package manager, no programs but node, no setuid/setgid bits, every file owned by root or the
// nonroot user, every binary built for the platform's CPU, and one fixed mtime per layer.
import { beforeAll, describe, expect, it } from 'vitest';
import { imageBuild, type ImageFixture } from '../helpers/image-build.js';
import { OciLayout } from '../../ota/shared/oci/index.js';
import { elfMachineOf, isElfProgram, mergedRootfs, readLayers, type LayerContent } from '../../image/build/inspect.js';
import { PLATFORMS } from '../../image/build/recipe.js';

let fx: ImageFixture;
const layers = new Map<string, LayerContent[]>();
beforeAll(async () => {
  fx = await imageBuild();
  const layout = new OciLayout(fx.result.layoutDir);
  for (const p of fx.result.platforms) layers.set(p.arch, await readLayers(layout, p.manifest.digest));
}, 20 * 60_000);

const FORBIDDEN = /(^|\/)(sh|bash|dash|ash|zsh|busybox|toybox|su|sudo|apt|apt-get|apt-cache|aptitude|dpkg|dpkg-deb|dpkg-query|ldconfig|ldd|env|perl|python3?|curl|wget)$/;

describe.each(PLATFORMS.map((p) => [p.arch, p] as const))('rootfs audit: %s', (arch, recipe) => {
  it('has no shell, no package manager, no package database and no program besides node', () => {
    const fs = mergedRootfs(layers.get(arch)!);
    expect(fs.size).toBeGreaterThan(500);
    expect([...fs.keys()].filter((p) => FORBIDDEN.test(p))).toEqual([]);
    expect([...fs.keys()].filter((p) => /^(var\/lib\/(dpkg|apt)|etc\/apt|etc\/dpkg)(\/|$)/.test(p))).toEqual([]);
    // libc.so.6 asks for an interpreter too (run alone it prints its version): a library, not a tool.
    const programs = [...fs.values()].filter((e) => e.type === 'file' && isElfProgram(e.data) && !/\.so(\.[0-9]+)*$/.test(e.path));
    expect(programs.map((e) => e.path)).toEqual(['usr/local/bin/node']);
    const scripts = [...fs.values()].filter((e) => e.type === 'file' && e.data.subarray(0, 2).toString() === '#!');
    expect(scripts.map((e) => e.path)).toEqual([]);
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin']) expect(fs.has(dir), dir).toBe(false);
  });

  it('has no setuid or setgid bits, and every entry is owned by 0 or 65532', () => {
    for (const layer of layers.get(arch)!) {
      for (const e of layer.entries) {
        expect(e.mode & 0o6000, `${layer.name}: ${e.path} mode ${e.mode.toString(8)}`).toBe(0);
        expect([0, 65532], `${layer.name}: ${e.path} uid`).toContain(e.uid);
        expect([0, 65532], `${layer.name}: ${e.path} gid`).toContain(e.gid);
      }
    }
    const fs = mergedRootfs(layers.get(arch)!);
    expect(fs.get('data')).toMatchObject({ type: 'dir', uid: 65532, gid: 65532, mode: 0o700 });
    expect(fs.get('tmp')).toMatchObject({ type: 'dir', uid: 0, mode: 0o1777 });
    expect(fs.get('var/tmp')).toMatchObject({ type: 'dir', uid: 0, mode: 0o1777 }); // PrivateTmp= on a read-only slot
    expect([...fs.values()].filter((e) => e.uid === 65532).map((e) => e.path)).toEqual(['data']);
    expect(fs.get('etc/passwd')!.data.toString()).toContain('nonroot:x:65532:65532:');
    expect(fs.get('etc/group')!.data.toString()).toContain('nonroot:x:65532:');
  });

  it(`holds only ${recipe.arch} machine code (ELF e_machine ${recipe.elfMachine}), including every native addon`, () => {
    const fs = mergedRootfs(layers.get(arch)!);
    const elves = [...fs.values()].filter((e) => e.type === 'file' && elfMachineOf(e.data) !== null);
    expect(elves.filter((e) => elfMachineOf(e.data) !== recipe.elfMachine).map((e) => e.path)).toEqual([]);
    const addons = elves.filter((e) => e.path.endsWith('.node')).map((e) => e.path).sort();
    expect(addons).toHaveLength(4);
    expect(addons.join('\n')).toMatch(/node_modules\/classic-level\/prebuilds\/linux-(x64|arm64)\//);
    expect(addons.join('\n')).toContain('app/node_modules/epoll/build/Release/epoll.node');
    expect(addons.join('\n')).toContain('app/node_modules/lucid-sd-notify/build/Release/sd_notify.node');
    expect(addons.join('\n')).toMatch(/app\/node_modules\/@node-usb\/usb-linux-(x64|arm64)-gnu\//);
    const loader = recipe.arch === 'amd64' ? 'lib64/ld-linux-x86-64.so.2' : 'lib/ld-linux-aarch64.so.1';
    expect(fs.has(loader), loader).toBe(true);
  });

  it('gives every entry of a layer the same mtime: the app layer the commit time, lower layers their inputs\' time', () => {
    const built = fx.result.platforms.find((p) => p.arch === arch)!;
    for (const layer of layers.get(arch)!) {
      const mtimes = new Set(layer.entries.map((e) => e.mtime));
      expect(mtimes.size, layer.name).toBe(1);
      expect([...mtimes][0]).toBe(built.layers.find((l) => l.name === layer.name)!.mtime);
    }
    const app = built.layers.find((l) => l.name === 'app')!;
    expect(new Date(app.mtime * 1000).toISOString().replace('.000Z', 'Z')).toBe(fx.result.created);
    // Tar entries are in sorted order (directories before their content).
    for (const layer of layers.get(arch)!) {
      const paths = layer.entries.map((e) => e.path);
      expect(paths).toEqual([...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
  });
});
