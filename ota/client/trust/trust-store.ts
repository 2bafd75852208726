// The device's TUF metadata on the data volume. tuf-js keeps its working copies in `metadata/`
// and writes them without fsync (trap T3): a power cut can leave a torn root.json, and tuf-js
// then cannot even start. So after every successful refresh we keep verified copies in `good/`
// (atomic, fsynced), and before every refresh each working file is checked and, if unreadable,
// restored from `good/` — root.json last of all from the root shipped in the image.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, MetadataKind } from '@tufjs/models';
import { writeFileAtomic } from '../../../services/common/fs-atomic.js';

const ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
type Role = (typeof ROLES)[number];

export interface TrustPaths {
  readonly metadataDir: string;
  readonly goodDir: string;
  readonly targetsDir: string;
}

export function trustPaths(dir: string): TrustPaths {
  return { metadataDir: join(dir, 'metadata'), goodDir: join(dir, 'good'), targetsDir: join(dir, 'targets') };
}

/** Parses a role file; for root also checks it is signed by a threshold of its own keys. */
function readable(role: Role, bytes: Buffer | null): Metadata<never> | null {
  if (!bytes) return null;
  try {
    const kind = { root: MetadataKind.Root, timestamp: MetadataKind.Timestamp, snapshot: MetadataKind.Snapshot, targets: MetadataKind.Targets }[role];
    const md = Metadata.fromJSON(kind as MetadataKind.Root, JSON.parse(bytes.toString('utf8'))) as unknown as Metadata<never>;
    if (role === 'root') (md as unknown as Metadata<import('@tufjs/models').Root>).verifyDelegate('root', md as never);
    return md;
  } catch {
    return null;
  }
}

const read = (path: string): Promise<Buffer | null> => readFile(path).catch(() => null);
const versionOf = (md: Metadata<never> | null): number => (md ? (md.signed as { version: number }).version : 0);

export interface PrepareResult {
  /** Which copies were repaired: e.g. `root: restored from good/`, `snapshot: removed`. */
  readonly repaired: string[];
  readonly rootVersion: number;
}

/**
 * Makes `metadata/` usable for a new Updater: root.json is the newest readable of the working
 * copy, the verified copy and the shipped root; other roles that do not parse are restored from
 * `good/` or dropped (tuf-js then fetches them again; their versions were recorded in `good/`).
 */
export async function prepareTrust(paths: TrustPaths, shippedRoot: Buffer): Promise<PrepareResult> {
  await mkdir(paths.metadataDir, { recursive: true });
  await mkdir(paths.goodDir, { recursive: true });
  await mkdir(paths.targetsDir, { recursive: true });
  const repaired: string[] = [];
  const working = readable('root', await read(join(paths.metadataDir, 'root.json')));
  const goodBytes = await read(join(paths.goodDir, 'root.json'));
  const good = readable('root', goodBytes);
  const shipped = readable('root', shippedRoot);
  if (!shipped) throw new Error('the root.json shipped in the image does not verify');
  const best = [
    { md: working, bytes: null as Buffer | null, name: 'working copy' },
    { md: good, bytes: goodBytes, name: 'good/' },
    { md: shipped, bytes: shippedRoot, name: 'the image' },
  ].filter((c) => c.md !== null).sort((a, b) => versionOf(b.md) - versionOf(a.md))[0]!;
  if (best.name !== 'working copy') {
    await writeFileAtomic(join(paths.metadataDir, 'root.json'), best.bytes!);
    repaired.push(`root: restored from ${best.name}${working ? '' : ' (working copy unreadable)'}`);
    // Other roles were verified under a root we no longer hold: let tuf-js check them again.
    if (!working || versionOf(working) !== versionOf(best.md)) {
      for (const role of ROLES.slice(1)) await rm(join(paths.metadataDir, `${role}.json`), { force: true });
    }
  }
  for (const role of ROLES.slice(1)) {
    const path = join(paths.metadataDir, `${role}.json`);
    const bytes = await read(path);
    if (bytes === null || readable(role, bytes)) continue;
    const backup = await read(join(paths.goodDir, `${role}.json`));
    if (readable(role, backup)) {
      await writeFileAtomic(path, backup!);
      repaired.push(`${role}: restored from good/`);
    } else {
      await rm(path, { force: true });
      repaired.push(`${role}: removed (unreadable)`);
    }
  }
  return { repaired, rootVersion: versionOf(best.md) };
}

/** After a refresh tuf-js accepted: verified copies into good/, durably. */
export async function keepGoodCopies(paths: TrustPaths): Promise<void> {
  for (const role of ROLES) {
    const bytes = await read(join(paths.metadataDir, `${role}.json`));
    if (bytes && readable(role, bytes)) await writeFileAtomic(join(paths.goodDir, `${role}.json`), bytes);
  }
}
