// A slot on disk (`<host>/slots/<a|b>/`): `rootfs/` (the image's file system), `slot.json`
// (what is in it and how far writing got), `layers/<i>.json` (what each applied layer did, so a
// later release can keep the layers it shares), `owners` (the owner exceptions the host step
// applies before the slot boots) and `ready` (`id=<job>`: complete, may boot on trial). Every
// file is written atomically and fsynced: after a power cut the slot is what slot.json says.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, fsyncDir } from '../../../services/common/fs-atomic.js';
import type { LayerRecord } from './unpack.js';

export type SlotName = 'a' | 'b';
export const SLOT_NAMES: readonly SlotName[] = ['a', 'b'];
export const otherSlot = (s: SlotName): SlotName => (s === 'a' ? 'b' : 'a');

export interface SlotLayer {
  readonly digest: string;
  readonly diffId: string;
  readonly size: number;
  readonly mediaType: string;
  /** Fully unpacked and fsynced (its record is in layers/<i>.json). */
  readonly applied: boolean;
}

export interface SlotInfo {
  readonly schema: 1;
  readonly name: SlotName;
  /** empty: nothing usable; writing: being (re)written; staged: complete. */
  readonly state: 'empty' | 'writing' | 'staged';
  readonly jobId: string | null;
  readonly version: string | null;
  readonly index: string | null;
  readonly manifest: string | null;
  readonly config: string | null;
  readonly architecture: string | null;
  readonly layers: readonly SlotLayer[];
  readonly updatedAt: number;
}

export function emptySlot(name: SlotName): SlotInfo {
  return { schema: 1, name, state: 'empty', jobId: null, version: null, index: null, manifest: null, config: null, architecture: null, layers: [], updatedAt: 0 };
}

export class SlotStore {
  constructor(readonly hostDir: string) {}

  dir(name: SlotName): string { return join(this.hostDir, 'slots', name); }
  rootfs(name: SlotName): string { return join(this.dir(name), 'rootfs'); }

  async read(name: SlotName): Promise<SlotInfo> {
    try {
      const raw = JSON.parse(await readFile(join(this.dir(name), 'slot.json'), 'utf8')) as SlotInfo;
      if (raw.schema === 1 && raw.name === name && Array.isArray(raw.layers)) return raw;
    } catch { /* missing or unreadable: the slot is treated as empty */ }
    return emptySlot(name);
  }

  async write(info: SlotInfo): Promise<void> {
    await writeFileAtomic(join(this.dir(info.name), 'slot.json'), `${JSON.stringify({ ...info, updatedAt: Date.now() }, null, 1)}\n`);
  }

  async readLayer(name: SlotName, i: number): Promise<LayerRecord | null> {
    try {
      return JSON.parse(await readFile(join(this.dir(name), 'layers', `${i}.json`), 'utf8')) as LayerRecord;
    } catch {
      return null;
    }
  }

  async writeLayer(name: SlotName, i: number, record: LayerRecord): Promise<void> {
    await writeFileAtomic(join(this.dir(name), 'layers', `${i}.json`), JSON.stringify(record));
  }

  async removeLayer(name: SlotName, i: number): Promise<void> {
    await rm(join(this.dir(name), 'layers', `${i}.json`), { force: true });
  }

  /** The id in `ready`, or null. */
  async readyId(name: SlotName): Promise<string | null> {
    const text = await readFile(join(this.dir(name), 'ready'), 'utf8').catch(() => '');
    return /^id=(.+)$/m.exec(text)?.[1] ?? null;
  }

  async markReady(name: SlotName, id: string): Promise<void> {
    await writeFileAtomic(join(this.dir(name), 'ready'), `id=${id}\n`);
  }

  /** Not bootable any more: `ready` and lucid-slot's completeness marker `slot.env` go first. */
  async clearReady(name: SlotName): Promise<void> {
    await rm(join(this.dir(name), 'ready'), { force: true });
    await rm(join(this.dir(name), 'slot.env'), { force: true });
    await fsyncDir(this.dir(name)).catch(() => {});
  }

  /**
   * The marker the host's `lucid-slot` (image/pi) reads to call a slot complete: written after
   * everything else of the slot is durable, in its key=value form.
   */
  async writeSlotEnv(info: SlotInfo, source: string): Promise<void> {
    const lines = [`LUCID_SLOT_VERSION=${info.version ?? ''}`, `LUCID_SLOT_ARCH=${info.architecture ?? ''}`, `LUCID_SLOT_MANIFEST=${info.manifest ?? ''}`, `LUCID_SLOT_SOURCE=${source}`];
    await writeFileAtomic(join(this.dir(info.name), 'slot.env'), `${lines.join('\n')}\n`);
  }

  /** The owner exceptions of the applied layers, later layers winning, for the host step. */
  async writeOwners(name: SlotName, records: readonly LayerRecord[]): Promise<void> {
    const owners = new Map<string, readonly [number, number, number, string]>();
    for (const r of records) {
      for (const w of r.whiteouts) {
        const prefix = w.endsWith('/') ? (w === '/' ? '' : w) : null;
        for (const p of [...owners.keys()]) if (prefix !== null ? p.startsWith(prefix) : p === w || p.startsWith(`${w}/`)) owners.delete(p);
      }
      for (const [p] of r.entries) owners.delete(p);
      for (const o of r.owners) owners.set(o[3], o);
    }
    const lines = [...owners.values()].map(([uid, gid, mode, path]) => `${uid} ${gid} ${mode.toString(8)} ${path}`);
    await writeFileAtomic(join(this.dir(name), 'owners'), lines.length ? `${lines.join('\n')}\n` : '');
  }
}
