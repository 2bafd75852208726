// Two builds of the same commit give the same image. Here the app layer of both platforms (a
// fresh bundle) and the arm64 modules layer (a fresh `npm ci --cpu=arm64` and fresh
// cross-compiles of epoll and sd_notify, in another folder, so no path may leak into the
// binaries) are built again from scratch; every digest, and so the index digest, must equal the
// shared build's. `./build.sh image --verify` rebuilds every layer of both platforms.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_DIR, imageBuild, type ImageFixture } from '../helpers/image-build.js';
import { ROOT } from '../helpers/appliance.js';
import { buildImage } from '../../image/build/image.js';

let fx: ImageFixture;
beforeAll(async () => {
  fx = await imageBuild();
}, 20 * 60_000);

describe('reproducible image', () => {
  it('rebuilding the app layers and the cross-compiled arm64 modules from scratch elsewhere gives identical digests and index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-image-repro-'));
    try {
      const again = await buildImage({
        repo: ROOT, outDir: join(dir, 'out'), cacheDir: CACHE_DIR, workDir: join(dir, 'work'),
        rebuild: ['app', 'arm64/modules'], archive: false,
      });
      for (const p of again.platforms) {
        const first = fx.result.platforms.find((x) => x.arch === p.arch)!;
        // Built, not taken from the layer cache (other layers may be either).
        expect(p.layers.filter((l) => !l.cached).map((l) => l.name)).toEqual(expect.arrayContaining(p.arch === 'arm64' ? ['modules', 'app'] : ['app']));
        expect(p.layers.map((l) => [l.name, l.descriptor.digest, l.diffId])).toEqual(first.layers.map((l) => [l.name, l.descriptor.digest, l.diffId]));
        expect(p.config.digest).toBe(first.config.digest);
        expect(p.manifest.digest).toBe(first.manifest.digest);
        expect(p.sbom.digest).toBe(first.sbom.digest);
      }
      expect(again.index.digest).toBe(fx.result.index.digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 10 * 60_000);
});
