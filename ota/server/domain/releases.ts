// Channels and releases. A channel is a release repository (published by `./build.sh release
// publish`) pinned to the root.json its devices ship. The fleet never holds a signing key: it
// mirrors the repository's metadata and the channel's release document, after verifying exactly
// the bytes it mirrors with the device's own TUF code (ota/client/trust/tuf-check.ts) against the
// pinned root, and serves them at /tuf/<channel>/ to its devices — which verify them again. So a
// fleet server (or whoever controls it) can point devices at releases, never make one install
// what the release keys did not sign.
//
// Mirroring follows the repository's consistent snapshots: timestamp.json → <v>.snapshot.json →
// <v>.targets.json → targets/<channel>/<sha256>.release.json, and every <n>.root.json (devices
// walk the root chain). A sync stores only a newer timestamp than the one stored (compare in the
// store), so instances syncing at once, or an upstream serving old metadata, change nothing.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { LucidError } from '../../../services/common/errors.js';
import { checkRelease } from '../../client/trust/tuf-check.js';
import { TimeFloor } from '../../client/trust/time-floor.js';
import { CHANNEL, releaseTargetPath } from '../../shared/release/release-doc.js';
import type { ChannelRecord, FleetStore, ReleaseRecord } from '../store/types.js';

const MAX_FILE = 2 * 1024 * 1024;
const MAX_ROOTS = 200;

/** Serves the fetched files to tuf-js; a missing one is tuf-js's own 404 (trap T6). */
class MapFetcher extends BaseFetcher {
  constructor(private readonly files: ReadonlyMap<string, Buffer>) { super(); }
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const path = decodeURIComponent(new URL(url).pathname.replace(/^\/+/, ''));
    const bytes = this.files.get(path);
    if (!bytes) throw new DownloadHTTPError(`${path} is not in the mirror`, 404);
    return Readable.toWeb(Readable.from([bytes])) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

async function get(base: string, path: string): Promise<Buffer | null> {
  const res = await fetch(`${base}/${path}`, { signal: AbortSignal.timeout(20_000) });
  if (res.status === 404) { await res.body?.cancel(); return null; }
  if (!res.ok) throw new LucidError('FLEET_ERR_CHANNEL_SYNC', `${path}: HTTP ${res.status}`);
  const len = Number(res.headers.get('content-length') ?? 0);
  if (len > MAX_FILE) throw new LucidError('FLEET_ERR_CHANNEL_SYNC', `${path}: larger than ${MAX_FILE} bytes`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_FILE) throw new LucidError('FLEET_ERR_CHANNEL_SYNC', `${path}: larger than ${MAX_FILE} bytes`);
  return bytes;
}

const signedOf = (bytes: Buffer): Record<string, any> => (JSON.parse(bytes.toString('utf8')) as { signed: Record<string, any> }).signed;

export interface SyncResult { readonly changed: boolean; readonly release: ReleaseRecord | null; readonly timestampVersion: number }

export class FleetReleases {
  constructor(private readonly deps: { store: FleetStore; now: () => number; dataDir: string; onCurrent: (channel: string, releaseId: string | null) => Promise<void> }) {}

  async createChannel(by: string, input: { name: string; repositoryUrl: string; tufChannel?: string; rootJson: string }): Promise<ChannelRecord> {
    if (!CHANNEL.test(input.name)) throw new LucidError('API_ERR_VALIDATION', 'a channel name is 1..32 of a-z 0-9 -');
    const tufChannel = input.tufChannel ?? input.name;
    if (!CHANNEL.test(tufChannel)) throw new LucidError('API_ERR_VALIDATION', 'tufChannel is 1..32 of a-z 0-9 -');
    if (!/^https?:\/\//.test(input.repositoryUrl)) throw new LucidError('API_ERR_VALIDATION', 'repositoryUrl must be an http(s) URL');
    try {
      const root = signedOf(Buffer.from(input.rootJson));
      if (root['_type'] !== 'root') throw new Error('not a root');
    } catch {
      throw new LucidError('API_ERR_VALIDATION', 'rootJson is not a TUF root.json');
    }
    const channel: ChannelRecord = { name: input.name, repositoryUrl: input.repositoryUrl.replace(/\/+$/, ''), tufChannel, rootJson: input.rootJson, createdAt: this.deps.now(), createdBy: by, lastSync: null };
    if (!(await this.deps.store.createChannel(channel))) throw new LucidError('FLEET_ERR_EXISTS', `channel ${input.name} exists`);
    return channel;
  }

  /** Fetches, verifies and (if newer) stores the channel's repository state. */
  async sync(name: string): Promise<SyncResult> {
    const channel = await this.deps.store.getChannel(name);
    if (!channel) throw new LucidError('FLEET_ERR_NOT_FOUND', `no channel ${name}`);
    const now = this.deps.now();
    try {
      const files = await this.fetchMirror(channel);
      const dir = await mkdtemp(join(tmpdir(), 'fleet-tuf-'));
      let verified;
      try {
        verified = await checkRelease({
          dir, shippedRoot: Buffer.from(channel.rootJson), floor: new TimeFloor(join(dir, 'floor.json'), 0), channel: channel.tufChannel,
          source: { metadataBaseUrl: 'mirror:/metadata/', targetBaseUrl: 'mirror:/targets/', fetcher: new MapFetcher(files) }, clock: this.deps.now,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const doc = verified.doc;
      const timestampVersion = Number(signedOf(files.get('metadata/timestamp.json')!)['version']);
      const release: ReleaseRecord = {
        id: `${name}@${doc.version}`, channel: name, version: doc.version, sha256: createHash('sha256').update(verified.bytes).digest('hex'),
        minVersion: doc.minVersion, architectures: doc.platforms.map((p) => p.architecture), downloadBytes: Math.max(0, ...doc.platforms.map((p) => p.downloadBytes)),
        created: doc.created, seenAt: now, current: true,
      };
      const changed = await this.deps.store.syncChannel(name, files, release, { at: now, ok: true, error: null, timestampVersion });
      if (changed) await this.deps.onCurrent(name, release.id);
      return { changed, release, timestampVersion };
    } catch (err) {
      const e = err instanceof LucidError ? err : new LucidError('FLEET_ERR_CHANNEL_SYNC', String((err as Error).message ?? err));
      await this.deps.store.noteSyncFailure(name, { at: now, ok: false, error: `${e.code}: ${e.message}`.slice(0, 400), timestampVersion: 0 });
      throw e.code.startsWith('FLEET_') ? e : new LucidError('FLEET_ERR_CHANNEL_SYNC', e.message, { code: e.code });
    }
  }

  private async fetchMirror(c: ChannelRecord): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    const need = async (path: string): Promise<Buffer> => {
      const b = await get(c.repositoryUrl, path);
      if (!b) throw new LucidError('FLEET_ERR_CHANNEL_SYNC', `${c.repositoryUrl}/${path}: not found`);
      files.set(path, b);
      return b;
    };
    const ts = signedOf(await need('metadata/timestamp.json'));
    const snapshotVersion = Number(ts['meta']?.['snapshot.json']?.['version']);
    const snap = signedOf(await need(`metadata/${snapshotVersion}.snapshot.json`));
    const targetsVersion = Number(snap['meta']?.['targets.json']?.['version']);
    const targets = signedOf(await need(`metadata/${targetsVersion}.targets.json`));
    const target = targets['targets']?.[releaseTargetPath(c.tufChannel)];
    const hash = target?.['hashes']?.['sha256'];
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw new LucidError('FLEET_ERR_RELEASE_UNSIGNED', `the repository signs no release for channel ${c.tufChannel}`);
    await need(`targets/${c.tufChannel}/${hash}.release.json`);
    for (let n = 1; n <= MAX_ROOTS; n++) {
      const root = await get(c.repositoryUrl, `metadata/${n}.root.json`);
      if (!root) break;
      files.set(`metadata/${n}.root.json`, root);
    }
    return files;
  }

  /** The release a rollout may use: verified, and what the channel's TUF metadata signs now. */
  async signedRelease(id: string): Promise<ReleaseRecord> {
    const r = await this.deps.store.getRelease(id);
    if (!r || !r.current) {
      throw new LucidError('FLEET_ERR_RELEASE_UNSIGNED', r ? `${id} is no longer what channel ${r.channel} signs` : `no verified release ${id}: the channel's TUF metadata does not sign it`, { releaseId: id });
    }
    return r;
  }
}
