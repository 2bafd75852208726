// `release bundle`: one file with the repository's current metadata (every root version, the
// timestamp, snapshot and targets it names), the channel's release document and the image blobs
// of one or both platforms, for appliances without internet (ota/shared/release/bundle-format.ts).
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { LucidError } from '../../services/common/errors.js';
import { digestHex, OciLayout } from '../shared/oci/index.js';
import { BUNDLE_SCHEMA, type BundleInfo } from '../shared/release/bundle-format.js';
import { parseReleaseDoc, releaseTargetPath, type ReleaseDoc } from '../shared/release/release-doc.js';
import { tarChunks, type TarInput } from '../shared/tar/tar-writer.js';
import type { ReleaseRepo, RoleMeta } from './repo.js';

export interface BundleOptions {
  readonly channel: string;
  /** The OCI layout holding the release's blobs. */
  readonly layoutDir: string;
  /** OCI architectures to include (default: every platform of the release). */
  readonly architectures?: readonly string[];
  readonly out: string;
}

/** The channel's current release document, as the repository's targets metadata names it. */
export async function currentRelease(repo: ReleaseRepo, channel: string): Promise<{ doc: ReleaseDoc; file: string; bytes: Buffer }> {
  const targets = (await repo.read('targets')).signed['targets'] as Record<string, { hashes: { sha256: string } }>;
  const path = releaseTargetPath(channel);
  const t = targets[path];
  if (!t) throw new LucidError('OTA_ERR_NO_RELEASE', `no release signed for channel ${channel}`);
  const file = `targets/${channel}/${t.hashes.sha256}.release.json`;
  const bytes = await readFile(join(repo.dir, file));
  return { doc: parseReleaseDoc(bytes), file, bytes };
}

export async function writeBundle(repo: ReleaseRepo, options: BundleOptions): Promise<{ file: string; bytes: number; info: BundleInfo }> {
  const { doc, file } = await currentRelease(repo, options.channel);
  const layout = new OciLayout(options.layoutDir);
  const platforms = doc.platforms.filter((p) => !options.architectures || options.architectures.includes(p.architecture));
  if (platforms.length === 0) throw new LucidError('OTA_ERR_NO_PLATFORM', `release ${doc.version} has none of ${options.architectures?.join(', ')}`);

  const meta = repo.metadataDir;
  const names = await readdir(meta);
  const roots = names.filter((n) => /^\d+\.root\.json$/.test(n)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  const timestamp = JSON.parse(await readFile(join(meta, 'timestamp.json'), 'utf8')) as RoleMeta;
  const snapshotVersion = (timestamp.signed['meta'] as Record<string, { version: number }>)['snapshot.json']!.version;
  const snapshot = JSON.parse(await readFile(join(meta, `${snapshotVersion}.snapshot.json`), 'utf8')) as RoleMeta;
  const targetsVersion = (snapshot.signed['meta'] as Record<string, { version: number }>)['targets.json']!.version;

  const entries: TarInput[] = [];
  const info: BundleInfo = { schema: BUNDLE_SCHEMA, channel: doc.channel, version: doc.version, created: new Date().toISOString(), platforms: platforms.map((p) => p.architecture) };
  entries.push({ path: 'bundle.json', data: Buffer.from(`${JSON.stringify(info, null, 2)}\n`) });
  for (const n of [...roots, 'timestamp.json', `${snapshotVersion}.snapshot.json`, `${targetsVersion}.targets.json`]) {
    entries.push({ path: `metadata/${n}`, data: await readFile(join(meta, n)) });
  }
  entries.push({ path: file, data: await readFile(join(repo.dir, file)) });
  const blobs = new Set<string>([doc.image.digest]);
  for (const p of platforms) for (const b of [p.manifest, p.config, ...p.layers]) blobs.add(b.digest);
  for (const digest of blobs) {
    const path = layout.blobPath(digest);
    const size = await stat(path).then((s) => s.size, () => {
      throw new LucidError('OTA_ERR_BAD_RELEASE', `${options.layoutDir} lacks blob ${digest} of release ${doc.version}`);
    });
    entries.push({ path: `blobs/sha256/${digestHex(digest)}`, file: { path, size } });
  }
  const tmp = `${options.out}.tmp`;
  await pipeline(Readable.from(tarChunks(entries)), createWriteStream(tmp));
  await rename(tmp, options.out);
  return { file: options.out, bytes: (await stat(options.out)).size, info };
}
