// `./build.sh release <command>`: the release manager's tool (ota/README.md "Releasing").
//   init      --repo DIR [--root-keys N] [--root-threshold T] [--expires ROLE=DUR]…
//   (every command: --keys DIR keeps the private keys outside the repository, e.g. on a USB stick)
//   sign      --repo DIR [--image DIR] [--ref REF] [--channel C] [--version V] [--min-version V]
//             [--registry URL --repository NAME [--no-push]] [--notes TEXT]
//   timestamp --repo DIR [--expires DUR]          (from cron, well inside the timestamp's validity)
//   rotate    --repo DIR --role ROLE [--key-count N] [--threshold T]
//   publish   --repo DIR --out DIR                (what any static HTTP server can host)
//   bundle    --repo DIR [--image DIR] [--channel C] [--platform ARCH]… [--out FILE]
//   status    --repo DIR
// DUR is a number with s, m, h or d. --repo defaults to $LUCID_RELEASE_REPO, else out/release.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryClient, OciLayout, pushLayout } from '../shared/oci/index.js';
import { CHANNEL } from '../shared/release/release-doc.js';
import { ROLES, type RoleName } from './keys.js';
import { ReleaseRepo, type RepoConfig } from './repo.js';
import { signRelease } from './release-build.js';
import { currentRelease, writeBundle } from './bundle-writer.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

type Args = { _: string[]; flags: Map<string, string[]> };

function parse(argv: readonly string[]): Args {
  const out: Args = { _: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { out._.push(a); continue; }
    const [k, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const boolean = k === 'no-push';
    const v = inline ?? (boolean ? 'true' : argv[++i]);
    if (v === undefined) throw new Error(`--${k} needs a value`);
    out.flags.set(k, [...(out.flags.get(k) ?? []), v]);
  }
  return out;
}

const one = (a: Args, k: string): string | undefined => a.flags.get(k)?.at(-1);
const need = (a: Args, k: string): string => {
  const v = one(a, k);
  if (v === undefined) throw new Error(`--${k} is required`);
  return v;
};
const int = (a: Args, k: string): number | undefined => {
  const v = one(a, k);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${k} must be a whole number`);
  return Number(v);
};

export function duration(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new Error(`${text} is not a duration like 30d, 12h, 90m or 3600s`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function role(text: string): RoleName {
  if (!(ROLES as readonly string[]).includes(text)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  return text as RoleName;
}

function channel(a: Args): string {
  const c = one(a, 'channel') ?? 'stable';
  if (!CHANNEL.test(c)) throw new Error('--channel must be a lower-case name');
  return c;
}

async function main(argv: readonly string[]): Promise<void> {
  const a = parse(argv);
  const cmd = a._[0];
  const repoDir = resolve(one(a, 'repo') ?? process.env['LUCID_RELEASE_REPO'] ?? join(ROOT, 'out/release'));
  const keysDir = one(a, 'keys');
  const opts = keysDir ? { keysDir: resolve(keysDir) } : {};
  const image = resolve(one(a, 'image') ?? join(ROOT, 'out/image/oci'));
  const say = (line: string): void => { process.stdout.write(`${line}\n`); };
  switch (cmd) {
    case 'init': {
      const expires: Partial<Record<RoleName, number>> = {};
      for (const e of a.flags.get('expires') ?? []) {
        const [r, d] = e.split('=');
        expires[role(r ?? '')] = duration(d ?? '');
      }
      const repo = await ReleaseRepo.init(repoDir, { ...opts, rootKeys: int(a, 'root-keys') ?? 1, rootThreshold: int(a, 'root-threshold') ?? 1, expires: expires as Partial<RepoConfig['expires']> });
      say(`initialised ${repo.dir} (root ${int(a, 'root-threshold') ?? 1} of ${int(a, 'root-keys') ?? 1}; keys in ${repo.keysDir})`);
      say(`ship ${join(repo.metadataDir, '1.root.json')} in the image as ota/trust/root.json`);
      return;
    }
    case 'sign': {
      const repo = await ReleaseRepo.open(repoDir, opts);
      const registry = one(a, 'registry');
      const repository = one(a, 'repository') ?? 'lucid/appliance';
      if (registry && one(a, 'no-push') === undefined) {
        const pushed = await pushLayout(new RegistryClient({ registry, repository }), new OciLayout(image));
        say(`pushed ${pushed.manifests.length} manifests to ${registry}/${repository} (${pushed.blobsUploaded} blobs uploaded, ${pushed.blobsSkipped} present)`);
      }
      const doc = await signRelease(repo, {
        layoutDir: image, channel: channel(a), source: registry ? { registry, repository } : null,
        ...(one(a, 'ref') ? { ref: one(a, 'ref')! } : {}), ...(one(a, 'version') ? { version: one(a, 'version')! } : {}),
        ...(one(a, 'min-version') ? { minVersion: one(a, 'min-version')! } : {}), ...(one(a, 'notes') ? { notes: one(a, 'notes')! } : {}),
      });
      say(`signed ${doc.channel} ${doc.version} (from ${doc.minVersion}): index ${doc.image.digest}`);
      for (const p of doc.platforms) say(`  ${p.os}/${p.architecture}: ${p.layers.length} layers, ${p.downloadBytes} bytes, ${p.unpackedBytes} unpacked`);
      return;
    }
    case 'timestamp': {
      const repo = await ReleaseRepo.open(repoDir, opts);
      const e = one(a, 'expires');
      await repo.signTimestamp(e ? { expiresIn: duration(e) } : {});
      say(`timestamp version ${await repo.version('timestamp')}`);
      return;
    }
    case 'rotate': {
      const repo = await ReleaseRepo.open(repoDir, opts);
      const r = role(need(a, 'role'));
      const ids = await repo.rotate(r, { ...(int(a, 'key-count') ? { keys: int(a, 'key-count')! } : {}), ...(int(a, 'threshold') ? { threshold: int(a, 'threshold')! } : {}) });
      say(`rotated ${r}: new keys ${ids.map((k) => k.slice(0, 12)).join(', ')}; root version ${await repo.version('root')}`);
      return;
    }
    case 'publish': {
      const repo = await ReleaseRepo.open(repoDir, opts);
      const out = resolve(need(a, 'out'));
      const { files } = await repo.publish(out);
      say(`published ${files} files to ${out} (serve it as LUCID_OTA_URL)`);
      return;
    }
    case 'bundle': {
      const repo = await ReleaseRepo.open(repoDir, opts);
      const c = channel(a);
      const { doc } = await currentRelease(repo, c);
      const out = resolve(one(a, 'out') ?? join(ROOT, `out/lucid-${c}-${doc.version}.lucid-bundle`));
      const archs = a.flags.get('platform');
      const r = await writeBundle(repo, { channel: c, layoutDir: image, out, ...(archs ? { architectures: archs } : {}) });
      say(`bundle ${r.file}: ${r.info.version} for ${r.info.platforms.join(', ')}, ${r.bytes} bytes`);
      return;
    }
    case 'status': {
      const repo = await ReleaseRepo.open(repoDir, opts);
      for (const r of ROLES) {
        const m = await repo.read(r);
        say(`${r.padEnd(9)} v${String(m.signed['version'])} expires ${String(m.signed['expires'])} (${m.signatures.length} signatures)`);
      }
      const targets = (await repo.read('targets')).signed['targets'] as Record<string, { custom?: { version?: string } }>;
      for (const [path, t] of Object.entries(targets)) say(`target ${path}: ${t.custom?.version ?? '?'}`);
      return;
    }
    default:
      throw new Error(`unknown command ${String(cmd)} (init, sign, timestamp, rotate, publish, bundle, status)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
