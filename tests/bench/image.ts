// Size report of the appliance image (`./build.sh bench image`): compressed and uncompressed size
// of every layer per platform, the largest contributors, and what an app-only update downloads.
// Goal: ≤ 60 MiB compressed per platform. The floor measured in the same run is the Node
// binary alone: what no layering or pruning of ours can remove.
// Contributor "compressed" figures are each group's files gzipped alone (level 9), an estimate
// of its share of the layer.
import { gzipSync } from 'node:zlib';
import { imageBuild } from '../helpers/image-build.js';
import { OciLayout } from '../../ota/shared/oci/index.js';
import { readLayers } from '../../image/build/inspect.js';

const GOAL_MIB = 60;
const TOP = 12;
const mib = (n: number): number => Math.round((n / 1048576) * 100) / 100;
const emit = (o: object): void => console.log(JSON.stringify({ bench: 'image', ...o }));

/** The unit a contributor is reported as: a package, a library, a data folder, a bundle file. */
function group(path: string): string {
  const nm = /^(app\/node_modules\/(?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm) return nm[1]!;
  for (const dir of ['usr/share/zoneinfo', 'usr/share/ca-certificates', 'usr/share/doc', 'etc']) if (path.startsWith(`${dir}/`)) return dir;
  return path;
}

export async function run(): Promise<void> {
  const fx = await imageBuild();
  const layout = new OciLayout(fx.result.layoutDir);
  emit({ what: 'build', version: fx.result.version, revision: fx.result.revision.slice(0, 12), index: fx.result.index.digest, buildOrWaitSeconds: fx.waitedSeconds });
  for (const p of fx.result.platforms) {
    const layers = await readLayers(layout, p.manifest.digest);
    let compressed = 0;
    let uncompressed = 0;
    for (const l of layers) {
      compressed += l.descriptor.size;
      uncompressed += l.tarSize;
      emit({ arch: p.arch, layer: l.name, digest: l.descriptor.digest.slice(0, 19), compressedMiB: mib(l.descriptor.size), uncompressedMiB: mib(l.tarSize), entries: l.entries.length });
    }
    const groups = new Map<string, { layer: string; bytes: number; files: Buffer[] }>();
    for (const l of layers) {
      for (const e of l.entries) {
        if (e.type !== 'file') continue;
        const key = group(e.path);
        const g = groups.get(key) ?? { layer: l.name, bytes: 0, files: [] };
        g.bytes += e.size;
        g.files.push(e.data);
        groups.set(key, g);
      }
    }
    const top = [...groups.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, TOP);
    for (const [name, g] of top) {
      const gz = gzipSync(Buffer.concat(g.files), { level: 9 }).length;
      emit({ arch: p.arch, contributor: name, layer: g.layer, uncompressedMiB: mib(g.bytes), compressedMiB: mib(gz), shareOfImage: Math.round((gz / compressed) * 1000) / 10 });
    }
    const node = layers.find((l) => l.name === 'runtime')!;
    const app = layers.find((l) => l.name === 'app')!;
    emit({
      arch: p.arch, totalCompressedMiB: mib(compressed), totalUncompressedMiB: mib(uncompressed), goalMiB: GOAL_MIB, withinGoal: mib(compressed) <= GOAL_MIB,
      floorNodeRuntimeMiB: mib(node.descriptor.size), appOnlyUpdateMiB: mib(app.descriptor.size),
    });
  }
}
