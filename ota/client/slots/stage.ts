// Writing a release into the inactive slot. Layers the slot already holds at the bottom of the
// new image are kept when nothing above them touched their paths (the usual case: base, runtime
// and modules unchanged, only the app layer new); the layers above are undone from their records
// and the new ones applied from the blob store — gunzipped, hashed against the config's diff_ids,
// unpacked with every path checked. Each step is durable before the next, so a kill or power cut
// anywhere resumes here: slot.json always tells which layers are really in the slot.
import { createReadStream } from 'node:fs';
import { chmod, mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Transform } from 'node:stream';
import { LucidError } from '../../../services/common/errors.js';
import { DigestCounter, MEDIA_TYPE, verifyDigest, type ImageConfig } from '../../shared/oci/index.js';
import type { ReleasePlatform } from '../../shared/release/release-doc.js';
import type { BlobStore } from '../fetch/blob-store.js';
import { applyLayer, type LayerRecord } from './unpack.js';
import { type SlotInfo, type SlotLayer, type SlotName, type SlotStore } from './slot-store.js';

export interface StageJob {
  readonly id: string;
  readonly version: string;
  readonly index: string;
  readonly platform: ReleasePlatform;
  readonly config: ImageConfig;
}

export interface StageResult {
  readonly kept: number;
  readonly applied: number;
}

/** How many bottom layers of `slot` the new layers can keep (pure; records of its applied layers given). */
export function reusablePrefix(slot: SlotInfo, wanted: readonly { digest: string }[], records: ReadonlyArray<LayerRecord | null>): number {
  let k = 0;
  while (k < slot.layers.length && k < wanted.length && slot.layers[k]!.applied && slot.layers[k]!.digest === wanted[k]!.digest) k++;
  // An interrupted write of these same layers resumes (a layer is applied again over its own
  // partial content); anything else unrecorded cannot be undone.
  const above = slot.layers.slice(k);
  const resumable = above.every((l, j) => !l.applied && l.digest === wanted[k + j]?.digest);
  if (above.some((l) => !l.applied) && !resumable) return 0;
  if (above.some((_, j) => records[k + j] === null && slot.layers[k + j]!.applied)) return 0;
  // Kept layers' paths must be untouched by the layers to undo.
  const lower = new Map<string, string>();
  for (const r of records.slice(0, k)) for (const [p, kind, mode] of r?.entries ?? []) lower.set(p, `${kind}${mode}`);
  for (const r of records.slice(k, slot.layers.length)) {
    if (!r) continue;
    for (const [p, kind, mode] of r.entries) {
      const was = lower.get(p);
      if (was !== undefined && !(kind === 'd' && was === `d${mode}`)) return 0;
    }
    for (const w of r.whiteouts) {
      const prefix = w === '/' ? '' : w;
      for (const p of lower.keys()) if (w.endsWith('/') ? p.startsWith(prefix) : p === w || p.startsWith(`${w}/`)) return 0;
    }
  }
  return k;
}

/** Removes what layer records created (files and links, then their own directories), deepest first. */
async function undo(root: string, records: readonly LayerRecord[], keepPaths: ReadonlySet<string>): Promise<void> {
  const dirs: string[] = [];
  for (const r of records) {
    for (const [p, kind] of r.entries) {
      if (keepPaths.has(p)) continue;
      if (kind === 'd') dirs.push(p);
      else await rm(join(root, p), { force: true, recursive: true });
    }
  }
  for (const d of dirs.sort((a, b) => b.split('/').length - a.split('/').length)) {
    await rmdir(join(root, d)).catch(() => {}); // only if empty: a kept layer may have files there
  }
}

function layerStream(store: BlobStore, layer: SlotLayer, diffCounter: DigestCounter, blobCounter: DigestCounter): AsyncIterable<Uint8Array> {
  const source = createReadStream(store.path(layer.digest));
  const tapBlob = new Transform({ transform(chunk: Buffer, _e, done) { blobCounter.update(chunk); done(null, chunk); } });
  const tapDiff = new Transform({ transform(chunk: Buffer, _e, done) { diffCounter.update(chunk); done(null, chunk); } });
  const gz = layer.mediaType === MEDIA_TYPE.layerGzip;
  let stream = source.pipe(tapBlob);
  if (gz) stream = stream.pipe(createGunzip());
  const out = stream.pipe(tapDiff);
  for (const s of [source, tapBlob, ...(gz ? [stream] : [])]) s.on('error', (err: Error) => out.destroy(err));
  return out;
}

async function slotRecords(slots: SlotStore, name: SlotName, slot: SlotInfo): Promise<Array<LayerRecord | null>> {
  const records: Array<LayerRecord | null> = [];
  for (let i = 0; i < slot.layers.length; i++) records.push(slot.layers[i]!.applied ? await slots.readLayer(name, i) : null);
  return records;
}

/** Bytes the slot still needs to take this job (what the kept layers hold is already there). */
export async function stageNeeds(slots: SlotStore, name: SlotName, job: StageJob): Promise<number> {
  const slot = await slots.read(name);
  const records = await slotRecords(slots, name, slot);
  const k = reusablePrefix(slot, job.platform.layers, records);
  return Math.max(0, job.platform.unpackedBytes - records.slice(0, k).reduce((s, r) => s + (r?.bytes ?? 0), 0));
}

export async function stageSlot(slots: SlotStore, name: SlotName, store: BlobStore, job: StageJob, onLayer?: (i: number, n: number) => void): Promise<StageResult> {
  const root = slots.rootfs(name);
  const wanted: SlotLayer[] = job.platform.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: job.config.rootfs.diff_ids[i]!, applied: false }));
  await slots.clearReady(name);
  let slot = await slots.read(name);
  const records = await slotRecords(slots, name, slot);
  const k = reusablePrefix(slot, wanted, records);
  const base = { ...slot, state: 'writing' as const, jobId: job.id, version: job.version, index: job.index, manifest: job.platform.manifest.digest, config: job.platform.config.digest, architecture: job.platform.architecture };

  if (k === 0) {
    // Nothing to keep: start from an empty root file system.
    await slots.write({ ...base, layers: [] });
    await rm(root, { recursive: true, force: true });
    for (let i = 0; i < slot.layers.length; i++) await slots.removeLayer(name, i);
  } else {
    // Undo the layers above the kept ones, top first, each durably forgotten once undone.
    await slots.write({ ...base, layers: slot.layers });
    const keep = new Set<string>();
    for (const r of records.slice(0, k)) for (const [p] of r?.entries ?? []) keep.add(p);
    for (let i = slot.layers.length - 1; i >= k; i--) {
      const r = records[i];
      if (r) await undo(root, [r], keep);
      await slots.removeLayer(name, i);
      slot = { ...base, layers: slot.layers.slice(0, i) };
      await slots.write(slot);
    }
  }
  // The slot's `/`: 0755 whatever the process umask (the unit's UMask=0077 would make it 0700,
  // and the appliance, uid 65532 inside the root-owned sealed slot, could not resolve a path).
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755);
  const layers: SlotLayer[] = wanted.map((l, i) => (i < k ? { ...l, applied: true } : l));
  await slots.write({ ...base, layers });
  const final: LayerRecord[] = [];
  for (let i = 0; i < k; i++) final.push(records[i]!);
  let budget = job.platform.unpackedBytes - final.reduce((s, r) => s + r.bytes, 0);
  for (let i = k; i < wanted.length; i++) {
    onLayer?.(i, wanted.length);
    const diff = new DigestCounter();
    const blob = new DigestCounter();
    let record: LayerRecord;
    try {
      record = await applyLayer(root, layerStream(store, wanted[i]!, diff, blob), { maxBytes: Math.max(0, budget) });
    } catch (err) {
      // The slot now holds part of a layer that cannot be undone: the next attempt starts clean.
      await slots.write({ ...base, state: 'empty', layers: [] });
      throw err;
    }
    verifyDigest(wanted[i]!.digest, blob.digest(), `layer ${i} blob`);
    if (diff.digest() !== wanted[i]!.diffId) {
      await slots.write({ ...base, state: 'empty', layers: [] });
      throw new LucidError('OTA_ERR_BAD_RELEASE', `layer ${i} unpacked to ${diff.digest()}, the config says ${wanted[i]!.diffId}`);
    }
    budget -= record.bytes;
    await slots.writeLayer(name, i, record);
    layers[i] = { ...wanted[i]!, applied: true };
    await slots.write({ ...base, layers });
    final.push(record);
  }
  await slots.writeOwners(name, final);
  const staged = { ...base, state: 'staged' as const, layers };
  await slots.write(staged);
  await slots.writeSlotEnv(staged, `ota:${job.id}`);
  await slots.markReady(name, job.id);
  return { kept: k, applied: wanted.length - k };
}
