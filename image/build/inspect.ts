// Reading a built image back: each platform's layers as tar entries, named by the config's
// history. Used by the audit and SBOM tests and by the size report.
import { gunzipSync } from 'node:zlib';
import type { Descriptor, ImageConfig, ImageManifest, OciLayout } from '../../ota/shared/oci/index.js';
import { readTar, type TarEntry } from './tar.js';

export interface LayerContent {
  readonly name: string;
  readonly descriptor: Descriptor;
  readonly entries: TarEntry[];
  readonly tarSize: number;
}

export async function readLayers(layout: OciLayout, manifestDigest: string): Promise<LayerContent[]> {
  const manifest = await layout.readJson<ImageManifest>(manifestDigest);
  const config = await layout.readJson<ImageConfig>(manifest.config.digest);
  const out: LayerContent[] = [];
  for (const [i, descriptor] of manifest.layers.entries()) {
    const tar = gunzipSync(await layout.readBlob(descriptor.digest));
    const name = config.history?.[i]?.comment?.replace(/^layer /, '') ?? `layer${i}`;
    out.push({ name, descriptor, entries: readTar(tar), tarSize: tar.length });
  }
  return out;
}

/** The root filesystem the layers make (no whiteouts in our layers: each only adds). */
export function mergedRootfs(layers: readonly LayerContent[]): Map<string, TarEntry & { layer: string }> {
  const fs = new Map<string, TarEntry & { layer: string }>();
  for (const layer of layers) for (const e of layer.entries) fs.set(e.path, { ...e, layer: layer.name });
  return fs;
}

/** ELF e_machine of file content, or null when it is not an ELF file. */
export function elfMachineOf(data: Buffer): number | null {
  if (data.length < 20 || data.readUInt32BE(0) !== 0x7f454c46) return null;
  return data.readUInt16LE(18);
}

/** True for an ELF program (it asks for a program interpreter, PT_INTERP); shared objects do not. */
export function isElfProgram(data: Buffer): boolean {
  if (elfMachineOf(data) === null || data[4] !== 2) return false;
  const phoff = Number(data.readBigUInt64LE(32));
  const phentsize = data.readUInt16LE(54);
  const phnum = data.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 <= data.length && data.readUInt32LE(at) === 3) return true;
  }
  return false;
}
