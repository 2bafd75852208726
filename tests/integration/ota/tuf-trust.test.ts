// Release trust end to end, with a real repository written by the release tool, published to a
// static HTTP server, and the device's tuf-js check: the happy path, the clock (floor), torn
// metadata, root rotation — and the metadata attacks of issue 21 §4, each refused with its code.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReleaseRepo, type RoleMeta } from '../../../ota/release/repo.js';
import { signRelease } from '../../../ota/release/release-build.js';
import { checkRelease, storeOf } from '../../../ota/client/trust/tuf-check.js';
import { httpSource } from '../../../ota/client/trust/bundle-fetcher.js';
import { TimeFloor } from '../../../ota/client/trust/time-floor.js';
import { trustPaths } from '../../../ota/client/trust/trust-store.js';
import { startStaticServer, type StaticServer } from '../../helpers/static-server.js';
import { applianceLayers, makeTestImage, type TestImage } from '../../helpers/ota-layout.js';
import { Updater } from 'tuf-js';

const DAY = 86_400_000;
let work: string;
let image1: TestImage;
let image2: TestImage;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lucid-tuf-'));
  image1 = await makeTestImage({ version: '1.0.0', layers: applianceLayers('1.0.0'), dir: join(work, 'img1') });
  image2 = await makeTestImage({ version: '2.0.0', layers: applianceLayers('2.0.0'), dir: join(work, 'img2') });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dir: string;
let repo: ReleaseRepo;
let server: StaticServer;
let signNow: number;
beforeEach(async () => {
  dir = mkdtempSync(join(work, 'case-'));
  signNow = Date.now();
  repo = await ReleaseRepo.init(join(dir, 'repo'), { rootKeys: 3, rootThreshold: 2, now: () => new Date(signNow) });
  await signRelease(repo, { layoutDir: image1.dir, channel: 'stable', source: null });
  await repo.publish(join(dir, 'www'));
  server = await startStaticServer(join(dir, 'www'));
});
afterEach(async () => { await server.stop(); });

const shipped = (): Buffer => readFileSync(join(dir, 'repo/metadata/1.root.json'));
function device(name = 'device', opts: { clock?: number; buildTime?: number } = {}): Parameters<typeof checkRelease>[0] {
  const d = join(dir, name);
  return {
    dir: join(d, 'tuf'), shippedRoot: shipped(), floor: new TimeFloor(join(d, 'floor.json'), opts.buildTime ?? 0),
    channel: 'stable', source: httpSource(server.url), ...(opts.clock !== undefined ? { clock: () => opts.clock! } : {}),
  };
}
const publish = (): Promise<unknown> => repo.publish(join(dir, 'www'));
const codeOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

describe('device trust (tuf-js 5.0.1)', () => {
  it('verifies the channel\'s release document and keeps verified copies', async () => {
    const r = await checkRelease(device());
    expect(r.doc).toMatchObject({ version: '1.0.0', channel: 'stable', image: { digest: image1.index.digest } });
    expect(r.rootVersion).toBe(1);
    expect(readdirSync(trustPaths(join(dir, 'device/tuf')).goodDir).sort()).toEqual(['root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
    // The second check with nothing new reads the cached target instead of downloading it again.
    server.requests.length = 0;
    await checkRelease(device());
    expect(server.requests.filter((r) => r.includes('/targets/'))).toEqual([]);
  });

  it('reaches tuf-js\'s reference time (a private field: this fails if an upgrade moves it)', () => {
    const d = device();
    writeFileSync(join(dir, 'root.json'), shipped());
    const u = new Updater({ metadataDir: dir, metadataBaseUrl: `${server.url}/metadata/`, targetBaseUrl: `${server.url}/targets/`, targetDir: dir });
    expect(storeOf(u).referenceTime).toBeInstanceOf(Date);
    expect(d.channel).toBe('stable');
  });

  it('a clock at 1970 still updates (trust time = floor from the build time), and the floor moves forward from signed time only', async () => {
    const buildTime = Math.floor((signNow - DAY / 2) / 1000);
    const r = await checkRelease(device('d', { clock: 0, buildTime }));
    expect(r.doc.version).toBe('1.0.0');
    expect(r.floor).toBeGreaterThanOrEqual(Math.floor(signNow / 1000) - 1);
    // A validly signed timestamp that has since expired is refused although the clock says 1970.
    signNow += 3 * DAY;
    await repo.signTimestamp({ expiresIn: 3600 });
    await publish();
    await checkRelease(device('d', { clock: 0, buildTime })); // floor now = that timestamp's signing time
    const replay = readFileSync(join(dir, 'www/metadata/timestamp.json'));
    signNow += 2 * DAY; // the next timestamp is signed two days later: the old one expired in between
    await repo.signTimestamp();
    await publish();
    await checkRelease(device('d', { clock: 0, buildTime }));
    const fresh = device('fresh', { clock: 0, buildTime: Math.floor(signNow / 1000) });
    server.intercept = (p) => (p === '/metadata/timestamp.json' ? replay : undefined);
    const err = await checkRelease(fresh).catch((e: { code: string; message: string }) => e);
    expect(err).toMatchObject({ code: 'OTA_ERR_METADATA_EXPIRED', message: 'release metadata expired — check the clock' });
  });

  it('shows a clock far ahead as "release metadata expired — check the clock"', async () => {
    const err = await checkRelease(device('d', { clock: Date.now() + 400 * DAY })).then(() => null, (e: { code: string; message: string; details: Record<string, string> }) => e);
    if (!err) throw new Error('a clock 400 days ahead was accepted');
    expect(err).toMatchObject({ code: 'OTA_ERR_METADATA_EXPIRED', message: 'release metadata expired — check the clock' });
    expect(Date.parse(err.details['clock']!)).toBeGreaterThan(Date.now() + 300 * DAY);
  });

  it('restores a torn working root.json from the verified copy, and without one from the image', async () => {
    await checkRelease(device());
    await repo.rotate('root');
    await publish();
    const r = await checkRelease(device());
    expect(r.rootVersion).toBe(2);
    const paths = trustPaths(join(dir, 'device/tuf'));
    writeFileSync(join(paths.metadataDir, 'root.json'), '{"signed": {"_type": "ro'); // a power cut mid-write
    const again = await checkRelease(device());
    expect(again.repaired).toEqual([expect.stringMatching(/^root: restored from good\//)]);
    expect(again.rootVersion).toBe(2);
    rmSync(join(paths.goodDir, 'root.json'));
    writeFileSync(join(paths.metadataDir, 'root.json'), '');
    const third = await checkRelease(device());
    expect(third.repaired[0]).toMatch(/^root: restored from the image/);
    expect(third.rootVersion).toBe(2); // walked the chain again from the shipped v1
  });

  it('follows a root rotation (threshold 2 of 3, signed by old and new keys) and a timestamp key rotation', async () => {
    await checkRelease(device());
    await repo.rotate('root', { keys: 2, threshold: 2 });
    await repo.rotate('timestamp');
    await publish();
    const r = await checkRelease(device());
    expect(r.rootVersion).toBe(3);
    // A device that only has the shipped v1 walks 2.root.json, 3.root.json.
    server.requests.length = 0;
    expect((await checkRelease(device('newcomer'))).rootVersion).toBe(3);
    expect(server.requests).toEqual(expect.arrayContaining(['GET /metadata/2.root.json', 'GET /metadata/3.root.json', 'GET /metadata/4.root.json']));
  });
});

describe('metadata attacks are refused', () => {
  const tamper = (file: string, edit: (m: RoleMeta) => void): Buffer => {
    const m = JSON.parse(readFileSync(join(dir, 'www/metadata', file), 'utf8')) as RoleMeta;
    edit(m);
    return Buffer.from(JSON.stringify(m));
  };

  it('unsigned metadata', async () => {
    const unsigned = tamper('timestamp.json', (m) => { m.signatures = []; });
    server.intercept = (p) => (p === '/metadata/timestamp.json' ? unsigned : undefined);
    expect(await codeOf(checkRelease(device()))).toBe('OTA_ERR_UNTRUSTED');
  });

  it('wrongly signed metadata (a key the root does not name; a changed body under a valid signature)', async () => {
    const other = await ReleaseRepo.init(join(dir, 'attacker'), {});
    await other.signTargets({});
    const foreign = readFileSync(join(dir, 'attacker/metadata/timestamp.json'));
    server.intercept = (p) => (p === '/metadata/timestamp.json' ? foreign : undefined);
    expect(await codeOf(checkRelease(device()))).toBe('OTA_ERR_UNTRUSTED');
    const edited = tamper(`${await repo.version('targets')}.targets.json`, (m) => { (m.signed as { expires: string }).expires = '2099-01-01T00:00:00Z'; });
    server.intercept = (p) => (p.endsWith('.targets.json') ? edited : undefined);
    expect(await codeOf(checkRelease(device('d2')))).toBe('OTA_ERR_UNTRUSTED');
  });

  it('too few signatures: a new root signed by one of the two root keys it needs', async () => {
    await repo.rotate('root');
    await publish();
    const weak = tamper('2.root.json', (m) => { m.signatures = m.signatures.slice(0, 1); });
    server.intercept = (p) => (p === '/metadata/2.root.json' ? weak : undefined);
    expect(await codeOf(checkRelease(device()))).toBe('OTA_ERR_UNTRUSTED');
  });

  it('expired metadata: timestamp, snapshot and targets each', async () => {
    await repo.signTimestamp({ expiresIn: -60 });
    await publish();
    expect(await codeOf(checkRelease(device('t')))).toBe('OTA_ERR_METADATA_EXPIRED');
    await repo.signSnapshot({ expiresIn: -60 });
    await publish();
    expect(await codeOf(checkRelease(device('s')))).toBe('OTA_ERR_METADATA_EXPIRED');
    await repo.signTargets({}, { expiresIn: -60 });
    await publish();
    expect(await codeOf(checkRelease(device('g')))).toBe('OTA_ERR_METADATA_EXPIRED');
  });

  it('rollback: older (still valid) timestamp, snapshot or targets than the device has seen', async () => {
    const oldTimestamp = readFileSync(join(dir, 'www/metadata/timestamp.json'));
    await signRelease(repo, { layoutDir: image2.dir, channel: 'stable', source: null });
    await publish();
    expect((await checkRelease(device())).doc.version).toBe('2.0.0');
    server.intercept = (p) => (p === '/metadata/timestamp.json' ? oldTimestamp : undefined);
    expect(await codeOf(checkRelease(device()))).toBe('OTA_ERR_ROLLBACK');
  });

  it('freeze: the mirror keeps serving the timestamp the device already has, until it expires', async () => {
    const stale = readFileSync(join(dir, 'www/metadata/timestamp.json'));
    await checkRelease(device('d', { clock: signNow }));
    await signRelease(repo, { layoutDir: image2.dir, channel: 'stable', source: null });
    await publish();
    server.intercept = (p) => (p === '/metadata/timestamp.json' ? stale : undefined);
    // While it is still valid the device sees "nothing new" (1.0.0); once past its expiry, refused.
    expect((await checkRelease(device('d', { clock: signNow }))).doc.version).toBe('1.0.0');
    expect(await codeOf(checkRelease(device('d', { clock: signNow + 2 * DAY })))).toBe('OTA_ERR_METADATA_EXPIRED');
  });

  it('mix-and-match: a snapshot served with another version\'s targets', async () => {
    const before = await repo.version('targets');
    const oldTargets = readFileSync(join(dir, `www/metadata/${before}.targets.json`));
    await signRelease(repo, { layoutDir: image2.dir, channel: 'stable', source: null });
    await publish();
    server.intercept = (p) => (p === `/metadata/${before + 1}.targets.json` ? oldTargets : undefined);
    expect(await codeOf(checkRelease(device()))).toBe('OTA_ERR_UNTRUSTED');
  });

  it('oversized metadata and an oversized release document', async () => {
    server.intercept = (p) => (p === '/metadata/timestamp.json' ? Buffer.alloc(20_000, 0x20) : undefined);
    expect(await codeOf(checkRelease(device('a')))).toBe('OTA_ERR_TOO_LARGE');
    const targets = JSON.parse(readFileSync(join(dir, 'www/metadata/targets.json'), 'utf8')) as RoleMeta;
    const t = (targets.signed['targets'] as Record<string, { length: number; hashes: { sha256: string } }>)['stable/release.json']!;
    server.intercept = (p) => (p.endsWith('.release.json') ? Buffer.alloc(t.length + 4096, 0x20) : undefined);
    expect(await codeOf(checkRelease(device('b')))).toMatch(/^OTA_ERR_(TOO_LARGE|UNTRUSTED)$/);
    server.intercept = (p) => (p.endsWith('.release.json') ? Buffer.alloc(t.length, 0x20) : undefined);
    expect(await codeOf(checkRelease(device('c')))).toBe('OTA_ERR_UNTRUSTED');
  });
});
