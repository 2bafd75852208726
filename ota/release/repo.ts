// A TUF release repository on disk, authored with @tufjs/models: top-level roles only, consistent
// snapshots, Ed25519 keys. Every change signs new versions of the roles it touches (targets →
// snapshot → timestamp) and writes them as `metadata/<v>.<role>.json` (timestamp: `timestamp.json`),
// so a client mid-update never sees a mix. Each role's signed body carries `x-lucid-signed-at`,
// which devices use to move their trust-time floor forward (ota/README.md "Time").
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, MetadataKind, Signature, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { LucidError } from '../../services/common/errors.js';
import { generateKey, loadKeys, retireKey, ROLES, type RoleName, type SigningKey } from './keys.js';

export const SPEC_VERSION = '1.0.31';
export const SIGNED_AT = 'x-lucid-signed-at';
const DAY = 86_400;

export interface RepoConfig {
  /** Validity of each role's metadata, in seconds. */
  readonly expires: Readonly<Record<RoleName, number>>;
}
export const DEFAULT_EXPIRES: RepoConfig['expires'] = { root: 365 * DAY, targets: 90 * DAY, snapshot: 30 * DAY, timestamp: DAY };

export interface RepoOptions {
  /** Where the private keys live (default `<dir>/keys`; keep root keys offline in real use). */
  readonly keysDir?: string;
  /** The signing clock (tests sign in the past or future). */
  readonly now?: () => Date;
}

type AnyJson = Record<string, unknown>;
export type RoleMeta = { signed: AnyJson; signatures: Array<{ keyid: string; sig: string }> };

export const tufTime = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
export const sha256Hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

const KIND: Record<RoleName, MetadataKind> = {
  root: MetadataKind.Root, targets: MetadataKind.Targets, snapshot: MetadataKind.Snapshot, timestamp: MetadataKind.Timestamp,
};

export class ReleaseRepo {
  readonly keysDir: string;
  private readonly now: () => Date;

  private constructor(readonly dir: string, readonly config: RepoConfig, options: RepoOptions) {
    this.keysDir = options.keysDir ?? join(dir, 'keys');
    this.now = options.now ?? (() => new Date());
  }

  get metadataDir(): string { return join(this.dir, 'metadata'); }
  get targetsDir(): string { return join(this.dir, 'targets'); }

  /** A new repository: keys for every role, root v1 (rootThreshold of rootKeys), empty targets. */
  static async init(dir: string, options: RepoOptions & { rootKeys?: number; rootThreshold?: number; expires?: Partial<RepoConfig['expires']> } = {}): Promise<ReleaseRepo> {
    const rootKeys = options.rootKeys ?? 1;
    const threshold = options.rootThreshold ?? 1;
    if (!Number.isInteger(rootKeys) || rootKeys < 1 || !Number.isInteger(threshold) || threshold < 1 || threshold > rootKeys) {
      throw new LucidError('OTA_ERR_BAD_RELEASE', `root threshold ${threshold} of ${rootKeys} keys is not possible`);
    }
    const existing = await readdir(join(dir, 'metadata')).catch(() => []);
    if (existing.length > 0) throw new LucidError('OTA_ERR_BAD_RELEASE', `${dir} already holds a repository`);
    const config: RepoConfig = { expires: { ...DEFAULT_EXPIRES, ...options.expires } };
    await mkdir(join(dir, 'metadata'), { recursive: true });
    await writeFile(join(dir, 'repo.json'), `${JSON.stringify(config, null, 2)}\n`);
    const repo = new ReleaseRepo(dir, config, options);
    const keys: Record<RoleName, SigningKey[]> = { root: [], targets: [], snapshot: [], timestamp: [] };
    for (const role of ROLES) {
      for (let i = 0; i < (role === 'root' ? rootKeys : 1); i++) keys[role].push(await generateKey(repo.keysDir, role));
    }
    const roles = Object.fromEntries(ROLES.map((r) => [r, { keyids: keys[r].map((k) => k.keyId), threshold: r === 'root' ? threshold : 1 }]));
    const allKeys = Object.fromEntries(ROLES.flatMap((r) => keys[r].map((k) => [k.keyId, k.publicJson])));
    await repo.writeRoot({ _type: 'root', spec_version: SPEC_VERSION, version: 1, consistent_snapshot: true, keys: allKeys, roles }, keys.root);
    await repo.signTargets({});
    return repo;
  }

  static async open(dir: string, options: RepoOptions = {}): Promise<ReleaseRepo> {
    const raw = await readFile(join(dir, 'repo.json'), 'utf8').catch(() => {
      throw new LucidError('OTA_ERR_BAD_RELEASE', `${dir} is not a release repository (no repo.json; run \`release init\`)`);
    });
    const config = JSON.parse(raw) as RepoConfig;
    return new ReleaseRepo(dir, { expires: { ...DEFAULT_EXPIRES, ...config.expires } }, options);
  }

  async read(role: RoleName): Promise<RoleMeta> {
    const name = role === 'timestamp' ? 'timestamp.json' : `${role}.json`;
    return JSON.parse(await readFile(join(this.metadataDir, name), 'utf8')) as RoleMeta;
  }

  async version(role: RoleName): Promise<number> {
    return Number((await this.read(role)).signed['version']);
  }

  /** The private keys that can sign `role` under the current root. */
  async signers(role: RoleName): Promise<SigningKey[]> {
    const root = (await this.read('root')).signed as { roles: Record<string, { keyids: string[] }> };
    const available = await loadKeys(this.keysDir, role);
    return root.roles[role]!.keyids.map((id) => available.get(id)).filter((k): k is SigningKey => k !== undefined);
  }

  /** Signs `signed` with `keys` through @tufjs/models (which also checks the shape). */
  sign(role: RoleName, signed: AnyJson, keys: readonly SigningKey[], expiresIn?: number): Buffer {
    const now = this.now();
    const body: AnyJson = {
      ...signed,
      _type: role,
      spec_version: SPEC_VERSION,
      expires: tufTime(new Date(now.getTime() + 1000 * (expiresIn ?? this.config.expires[role]))),
      [SIGNED_AT]: tufTime(now),
    };
    const md = Metadata.fromJSON(KIND[role] as MetadataKind.Root, { signed: body, signatures: [] } as never) as unknown as Metadata<Root | Targets | Snapshot | Timestamp>;
    for (const key of keys) md.sign((bytes) => new Signature({ keyID: key.keyId, sig: key.sign(bytes) }));
    return Buffer.from(`${JSON.stringify(md.toJSON())}\n`);
  }

  async writeRoot(signed: AnyJson, keys: readonly SigningKey[]): Promise<void> {
    const bytes = this.sign('root', signed, keys);
    await writeFile(join(this.metadataDir, `${String(signed['version'])}.root.json`), bytes);
    await writeFile(join(this.metadataDir, 'root.json'), bytes);
  }

  /** New targets (the given target files), then snapshot and timestamp over it. */
  async signTargets(targets: Record<string, AnyJson>, options: { expiresIn?: number } = {}): Promise<void> {
    const version = (await this.version('targets').catch(() => 0)) + 1;
    const bytes = this.sign('targets', { version, targets }, await this.signers('targets'), options.expiresIn);
    await writeFile(join(this.metadataDir, `${version}.targets.json`), bytes);
    await writeFile(join(this.metadataDir, 'targets.json'), bytes);
    await this.signSnapshot();
  }

  async signSnapshot(options: { expiresIn?: number } = {}): Promise<void> {
    const targets = await readFile(join(this.metadataDir, 'targets.json'));
    const targetsVersion = Number((JSON.parse(targets.toString('utf8')) as RoleMeta).signed['version']);
    const version = (await this.version('snapshot').catch(() => 0)) + 1;
    const meta = { 'targets.json': { version: targetsVersion, length: targets.length, hashes: { sha256: sha256Hex(targets) } } };
    const bytes = this.sign('snapshot', { version, meta }, await this.signers('snapshot'), options.expiresIn);
    await writeFile(join(this.metadataDir, `${version}.snapshot.json`), bytes);
    await writeFile(join(this.metadataDir, 'snapshot.json'), bytes);
    await this.signTimestamp();
  }

  /** A fresh timestamp (run it from cron well inside its validity; default one day). */
  async signTimestamp(options: { expiresIn?: number } = {}): Promise<void> {
    const snapshot = await readFile(join(this.metadataDir, 'snapshot.json'));
    const snapshotVersion = Number((JSON.parse(snapshot.toString('utf8')) as RoleMeta).signed['version']);
    const version = (await this.version('timestamp').catch(() => 0)) + 1;
    const meta = { 'snapshot.json': { version: snapshotVersion, length: snapshot.length, hashes: { sha256: sha256Hex(snapshot) } } };
    await writeFile(join(this.metadataDir, 'timestamp.json'), this.sign('timestamp', { version, meta }, await this.signers('timestamp'), options.expiresIn));
  }

  /** Adds (or replaces) a target file: its bytes under targets/<dir>/<sha256>.<name>. */
  async putTarget(path: string, bytes: Buffer, custom: AnyJson): Promise<void> {
    const hash = sha256Hex(bytes);
    const slash = path.lastIndexOf('/');
    const dir = join(this.targetsDir, path.slice(0, Math.max(0, slash)));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${hash}.${path.slice(slash + 1)}`), bytes);
    const current = (await this.read('targets')).signed['targets'] as Record<string, AnyJson>;
    await this.signTargets({ ...current, [path]: { length: bytes.length, hashes: { sha256: hash }, custom } });
  }

  /**
   * New keys for a role. Root: a new root version signed by the old root keys (threshold) and the
   * new ones (TUF spec §5.3.4), devices walk to it through `<v>.root.json`. Other roles: a new
   * root naming the new key, then that role and the ones that depend on it are signed again.
   */
  async rotate(role: RoleName, options: { keys?: number; threshold?: number } = {}): Promise<string[]> {
    const old = (await this.read('root')).signed as AnyJson & { version: number; keys: Record<string, unknown>; roles: Record<string, { keyids: string[]; threshold: number }> };
    const count = options.keys ?? old.roles[role]!.keyids.length;
    const threshold = options.threshold ?? Math.min(old.roles[role]!.threshold, count);
    if (threshold < 1 || threshold > count) throw new LucidError('OTA_ERR_BAD_RELEASE', `threshold ${threshold} of ${count} keys is not possible`);
    const oldRootSigners = await this.signers('root');
    const retired = old.roles[role]!.keyids;
    const fresh: SigningKey[] = [];
    for (let i = 0; i < count; i++) fresh.push(await generateKey(this.keysDir, role));
    const keys = { ...old.keys };
    for (const id of retired) if (!ROLES.some((r) => r !== role && old.roles[r]!.keyids.includes(id))) delete keys[id];
    for (const k of fresh) keys[k.keyId] = k.publicJson;
    const roles = { ...old.roles, [role]: { keyids: fresh.map((k) => k.keyId), threshold } };
    const next = { ...old, version: old.version + 1, keys, roles };
    const rootSigners = role === 'root' ? [...oldRootSigners, ...fresh] : oldRootSigners;
    await this.writeRoot(next, rootSigners);
    for (const id of retired) await retireKey(this.keysDir, role, id);
    if (role === 'targets') await this.signTargets((await this.read('targets')).signed['targets'] as Record<string, AnyJson>);
    else if (role === 'snapshot') await this.signSnapshot();
    else if (role === 'timestamp') await this.signTimestamp();
    return fresh.map((k) => k.keyId);
  }

  /** Copies what a static HTTP server serves (metadata/, targets/) to `outDir`; never the keys. */
  async publish(outDir: string): Promise<{ files: number }> {
    let files = 0;
    for (const sub of ['metadata', 'targets']) {
      const from = join(this.dir, sub);
      await rm(join(outDir, sub), { recursive: true, force: true });
      for (const entry of await readdir(from, { recursive: true, withFileTypes: true }).catch(() => [])) {
        if (!entry.isFile()) continue;
        const rel = join(entry.parentPath, entry.name).slice(from.length + 1);
        await mkdir(join(outDir, sub, rel, '..'), { recursive: true });
        await copyFile(join(from, rel), join(outDir, sub, rel));
        files++;
      }
    }
    return { files };
  }
}
