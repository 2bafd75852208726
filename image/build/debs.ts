// Debian packages for the base layer: the candidate version from apt's (signed) index, the .deb
// downloaded once into the cache and checked against the index's SHA256, unpacked with
// `dpkg-deb -x` (no maintainer scripts run, nothing installed on the host), and its licence
// read from /usr/share/doc/<pkg>/copyright for the SBOM.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from './exec.js';
import type { Arch } from './recipe.js';

export interface DebPackage {
  readonly name: string;
  readonly version: string;
  /** The package's architecture: amd64, arm64 or all. */
  readonly architecture: string;
  readonly source: string;
  readonly sourceVersion: string;
  readonly homepage: string | null;
  readonly sha256: string;
  /** The cached .deb. */
  readonly file: string;
}

export interface UnpackedDeb extends DebPackage {
  /** Folder the .deb was unpacked into. */
  readonly root: string;
  /** Path of the copyright file inside the image (following a symlinked doc folder). */
  readonly copyrightPath: string | null;
  /** Licence names from the copyright file (SPDX ids where Debian's short name maps to one). */
  readonly licenses: string[];
}

function parseParagraph(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let key = '';
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) && key) fields[key] += `\n${line.trim()}`;
    else {
      const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
      if (m) { key = m[1]!; fields[key] = m[2]!; }
    }
  }
  return fields;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Candidate { readonly name: string; readonly arch: Arch; readonly fields: Record<string, string> }

/**
 * apt's candidates for every `name` on every arch, from one `apt-cache show` (each call re-reads
 * all package lists: seconds). The answer is cached under a fingerprint of the lists and apt's
 * configuration, so it changes exactly when `apt-get update` or a preference would change it.
 */
export async function resolveDebs(names: readonly string[], arches: readonly Arch[], cacheDir: string): Promise<Candidate[]> {
  const fingerprint = createHash('sha256');
  for (const dir of ['/var/lib/apt/lists', '/etc/apt', '/etc/apt/preferences.d', '/etc/apt/sources.list.d']) {
    for (const entry of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const st = await lstat(join(dir, entry)).catch(() => null);
      if (st) fingerprint.update(`${dir}/${entry}:${st.size}:${st.mtimeMs}\n`);
    }
  }
  fingerprint.update(JSON.stringify({ names, arches }));
  const cacheFile = join(cacheDir, 'apt', `${fingerprint.digest('hex').slice(0, 24)}.json`);
  const cached = await readFile(cacheFile, 'utf8').then((t) => JSON.parse(t) as Candidate[], () => null);
  if (cached) return cached;
  const specs = [...arches.flatMap((a) => names.map((n) => `${n}:${a}`)), ...names];
  let shown: string;
  try {
    shown = await run('apt-cache', ['show', '--no-all-versions', ...specs]);
  } catch (err) {
    throw new Error(`apt-cache show failed. For arm64 run: dpkg --add-architecture arm64 && apt-get update (./build.sh image does it as root).\n${(err as Error).message}`);
  }
  const paragraphs = shown.split(/\n\s*\n/).map((t) => parseParagraph(t.trim())).filter((f) => f['Package']);
  const out: Candidate[] = [];
  for (const arch of arches) {
    for (const name of names) {
      // Architecture-independent packages (ca-certificates, tzdata) answer only to their bare name.
      const f = paragraphs.find((x) => x['Package'] === name && x['Architecture'] === arch)
        ?? paragraphs.find((x) => x['Package'] === name && x['Architecture'] === 'all');
      if (!f?.['Version'] || !f['SHA256'] || !f['Filename']) {
        throw new Error(`apt has no ${name} for ${arch}. For arm64 run: dpkg --add-architecture arm64 && apt-get update (./build.sh image does it as root).`);
      }
      out.push({ name, arch, fields: f });
    }
  }
  await mkdir(join(cacheDir, 'apt'), { recursive: true });
  await writeFile(`${cacheFile}.tmp`, JSON.stringify(out));
  await rename(`${cacheFile}.tmp`, cacheFile);
  return out;
}

/** Downloads a candidate's .deb into the cache (unless it is there) and checks its SHA256. */
export async function fetchDeb(candidate: Candidate, cacheDir: string): Promise<DebPackage> {
  const f = candidate.fields;
  const { name } = candidate;
  const version = f['Version']!;
  const sha256 = f['SHA256']!;
  const spec = f['Architecture'] === 'all' ? name : `${name}:${candidate.arch}`;
  const dir = join(cacheDir, 'debs');
  await mkdir(dir, { recursive: true });
  const file = join(dir, basename(f['Filename']!));
  const cached = await sha256File(file).catch(() => null);
  if (cached !== sha256) {
    // A private folder per download: the file apt writes is the only .deb in it.
    const tmp = await mkdtemp(join(dir, '.download-'));
    try {
      const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
      await run('apt-get', [...sandbox, 'download', `${spec}=${version}`], { cwd: tmp });
      const got = (await readdir(tmp)).filter((n) => n.endsWith('.deb'));
      if (got.length !== 1) throw new Error(`apt-get download ${spec} left ${got.length} .deb files`);
      const actual = await sha256File(join(tmp, got[0]!));
      if (actual !== sha256) throw new Error(`${got[0]}: sha256 ${actual} does not match apt's index (${sha256})`);
      await rename(join(tmp, got[0]!), file);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  // The SBOM's facts come from the package's own control file; apt's index must agree with it.
  const control = parseParagraph(await run('dpkg-deb', ['-f', file]));
  if (control['Package'] !== name || control['Version'] !== version) {
    throw new Error(`${file}: control says ${control['Package']} ${control['Version']}, apt said ${name} ${version}`);
  }
  const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(control['Source'] ?? name);
  return {
    name,
    version,
    architecture: control['Architecture'] ?? candidate.arch,
    source: source?.[1] ?? name,
    sourceVersion: source?.[2] ?? version,
    homepage: control['Homepage'] ?? null,
    sha256,
    file,
  };
}

/** Unpacks each package into its own folder under `workDir`, then reads the licences. */
export async function unpackDebs(debs: readonly DebPackage[], workDir: string): Promise<UnpackedDeb[]> {
  await rm(workDir, { recursive: true, force: true });
  const roots = new Map<string, string>();
  for (const deb of debs) {
    const root = join(workDir, deb.name);
    await mkdir(root, { recursive: true });
    await run('dpkg-deb', ['-x', deb.file, root]);
    roots.set(deb.name, root);
  }
  const out: UnpackedDeb[] = [];
  for (const deb of debs) {
    const root = roots.get(deb.name)!;
    const copyright = await findCopyright(deb.name, root, roots);
    out.push({ ...deb, root, copyrightPath: copyright?.imagePath ?? null, licenses: copyright ? licensesFromCopyright(copyright.text) : [] });
  }
  return out;
}

async function findCopyright(name: string, root: string, roots: ReadonlyMap<string, string>): Promise<{ imagePath: string; text: string } | null> {
  let docName = name;
  const docDir = join(root, 'usr/share/doc', name);
  const st = await lstat(docDir).catch(() => null);
  // libstdc++6 and libgcc-s1 ship /usr/share/doc/<pkg> as a symlink to gcc-12-base.
  if (st?.isSymbolicLink()) docName = basename(await readlink(docDir));
  for (const candidate of [root, roots.get(docName)].filter((r): r is string => r !== undefined)) {
    const text = await readFile(join(candidate, 'usr/share/doc', docName, 'copyright'), 'utf8').catch(() => null);
    if (text !== null) return { imagePath: `/usr/share/doc/${docName}/copyright`, text };
  }
  return null;
}

const DEBIAN_TO_SPDX: Readonly<Record<string, string>> = {
  'GPL-2': 'GPL-2.0-only', 'GPL-2+': 'GPL-2.0-or-later', 'GPL-3': 'GPL-3.0-only', 'GPL-3+': 'GPL-3.0-or-later',
  'LGPL-2.1': 'LGPL-2.1-only', 'LGPL-2.1+': 'LGPL-2.1-or-later', 'LGPL-3': 'LGPL-3.0-only', 'LGPL-3+': 'LGPL-3.0-or-later',
  'MPL-2.0': 'MPL-2.0', 'Apache-2.0': 'Apache-2.0', 'Expat': 'MIT', 'MIT': 'MIT', 'ISC': 'ISC',
  'BSD-2-clause': 'BSD-2-Clause', 'BSD-3-clause': 'BSD-3-Clause', 'Zlib': 'Zlib', 'CC0-1.0': 'CC0-1.0',
};

/**
 * Licence names from a Debian copyright file. Machine-readable (DEP-5) files list them in
 * `License:` fields; the free-form ones of glibc and gcc name the texts in /usr/share/common-licenses
 * and, for gcc's runtime, the GCC Runtime Library Exception.
 */
export function licensesFromCopyright(text: string): string[] {
  const found = new Set<string>();
  if (/^Format:\s*\S*copyright-format/m.test(text)) {
    for (const m of text.matchAll(/^License:[ \t]*([^\n]+)$/gm)) {
      for (const part of m[1]!.split(/\s+(?:or|and)\s+/i)) {
        const name = part.trim().replace(/,$/, '');
        if (name) found.add(DEBIAN_TO_SPDX[name] ?? name);
      }
    }
  } else {
    for (const m of text.matchAll(/common-licenses\/([A-Za-z0-9.+-]+)/g)) found.add(m[1]!.replace(/\.+$/, ''));
    if (/GCC Runtime Library Exception/i.test(text)) found.add('GCC-exception-3.1');
  }
  return [...found].sort();
}
