// The arm64 image on an x86 machine: its selftest (every native addon — classic-level's prebuilt,
// the cross-compiled epoll and sd_notify — crypto, a store, the API through inject) run by the
// image's own arm64 Node under qemu-user, with the unpacked image as the library root (-L).
// binfmt_misc is not mounted here, so qemu is called explicitly, and an arm64 program cannot
// start another one: the selftest starts none.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBuild, unpackedRootfs, type ImageFixture } from '../helpers/image-build.js';
import { OciLayout, type ImageConfig, type ImageManifest } from '../../ota/shared/oci/index.js';

let fx: ImageFixture;
let rootfs: string;
let env: Record<string, string>;
beforeAll(async () => {
  fx = await imageBuild();
  rootfs = await unpackedRootfs(fx, 'arm64');
  const layout = new OciLayout(fx.result.layoutDir);
  const arm = fx.result.platforms.find((p) => p.arch === 'arm64')!;
  const manifest = await layout.readJson<ImageManifest>(arm.manifest.digest);
  const config = await layout.readJson<ImageConfig>(manifest.config.digest);
  expect(config).toMatchObject({ architecture: 'arm64', variant: 'v8', os: 'linux' });
  env = Object.fromEntries(config.config.Env!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}, 20 * 60_000);

describe('arm64 image under qemu-aarch64-static', () => {
  it('passes the selftest with the image\'s own Node 24 and native addons', () => {
    // The data folder must not exist inside the rootfs: qemu -L would redirect the path there.
    const dataDir = mkdtempSync(join(tmpdir(), 'lucid-qemu-data-'));
    try {
      const res = spawnSync('qemu-aarch64-static', ['-L', rootfs, join(rootfs, 'usr/local/bin/node'), join(rootfs, 'app/dist/entries/selftest.mjs')], {
        // PATH from the host only so spawnSync finds qemu; the image's Node needs none.
        env: { ...env, PATH: process.env['PATH'] ?? '/usr/bin', LUCID_DATA_DIR: dataDir },
        encoding: 'utf8',
        timeout: 180_000,
      });
      expect(res.error).toBeUndefined();
      let report: { ok: boolean; arch: string; node: string; abi: string; checks: Array<{ name: string; ok: boolean; error?: string }> };
      try {
        report = JSON.parse(res.stdout) as typeof report;
      } catch {
        throw new Error(`selftest printed no JSON (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
      }
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['addon:classic-level', 'addon:epoll (onoff)', 'addon:lucid-sd-notify', 'crypto', 'api (inject)']));
      expect(report).toMatchObject({ ok: true, arch: 'arm64', node: `v${fx.result.node.version}` });
      expect(res.status).toBe(0);
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
