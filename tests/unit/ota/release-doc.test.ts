// The release document parser (what a device accepts from a verified TUF target) and SemVer
// precedence, which decides what counts as a newer release and what a downgrade is.
import { describe, expect, it } from 'vitest';
import { parseReleaseDoc, platformFor } from '../../../ota/shared/release/release-doc.js';
import { compareVersions, isVersion } from '../../../ota/shared/release/version.js';
import { settingsFromEnv } from '../../../appliance/entries/shared/ota-agent-env.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const good = {
  schema: 'lucid-release/1', channel: 'stable', version: '2.0.0', minVersion: '1.0.0', created: '2026-01-01T00:00:00Z',
  image: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: D('a'), size: 500 },
  source: { registry: 'http://10.0.0.2:5000', repository: 'lucid/appliance' },
  platforms: [{
    architecture: 'arm64', os: 'linux', variant: 'v8', manifest: { digest: D('b'), size: 900 }, config: { digest: D('c'), size: 800 },
    layers: [{ digest: D('d'), size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }, { digest: D('e'), size: 20, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
    downloadBytes: 30, unpackedBytes: 100,
  }],
};
const with_ = (patch: (d: any) => void): string => { const d = structuredClone(good) as any; patch(d); return JSON.stringify(d); };

describe('parseReleaseDoc', () => {
  it('accepts a well-formed document and picks this device\'s platform', () => {
    const doc = parseReleaseDoc(JSON.stringify(good));
    expect(doc.platforms[0]!.layers).toHaveLength(2);
    expect(platformFor(doc, 'arm64').architecture).toBe('arm64');
    expect(() => platformFor(doc, 'amd64')).toThrow(expect.objectContaining({ code: 'OTA_ERR_NO_PLATFORM' }));
  });

  it.each([
    ['another schema', (d: any) => { d.schema = 'x/2'; }],
    ['a version that is not SemVer', (d: any) => { d.version = '2.0'; }],
    ['a bad digest', (d: any) => { d.platforms[0].layers[0].digest = 'md5:abc'; }],
    ['a negative size', (d: any) => { d.platforms[0].layers[0].size = -1; }],
    ['a download total that is not the sum of the layers', (d: any) => { d.platforms[0].downloadBytes = 31; }],
    ['an unsupported layer type (zstd)', (d: any) => { d.platforms[0].layers[0].mediaType = 'application/vnd.oci.image.layer.v1.tar+zstd'; }],
    ['a registry that is not http(s)', (d: any) => { d.source.registry = 'file:///etc'; }],
    ['no platforms', (d: any) => { d.platforms = []; }],
    ['a manifest, not an index', (d: any) => { d.image.mediaType = 'application/vnd.oci.image.manifest.v1+json'; }],
  ])('refuses %s', (_what, patch) => {
    expect(() => parseReleaseDoc(with_(patch))).toThrow(expect.objectContaining({ code: 'OTA_ERR_BAD_RELEASE' }));
  });

  it('refuses a document over 64 KiB and one that is not JSON', () => {
    expect(() => parseReleaseDoc(with_((d) => { d.notes = 'x'.repeat(70_000); }))).toThrow(expect.objectContaining({ code: 'OTA_ERR_BAD_RELEASE' }));
    expect(() => parseReleaseDoc('{"schema":')).toThrow(expect.objectContaining({ code: 'OTA_ERR_BAD_RELEASE' }));
  });
});

describe('compareVersions (SemVer precedence)', () => {
  it('orders versions, pre-releases before releases, build metadata ignored', () => {
    const ordered = ['0.9.9', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.10.0', '2.0.0'];
    for (let i = 0; i + 1 < ordered.length; i++) {
      expect(compareVersions(ordered[i]!, ordered[i + 1]!), `${ordered[i]} < ${ordered[i + 1]}`).toBeLessThan(0);
      expect(compareVersions(ordered[i + 1]!, ordered[i]!)).toBeGreaterThan(0);
    }
    expect(compareVersions('1.0.0+build.7', '1.0.0')).toBe(0);
    expect(isVersion('01.0.0')).toBe(false);
    expect(isVersion('1.0.0-')).toBe(false);
  });
});

describe('the supervised agent\'s settings', () => {
  const env = {
    LUCID_DATA_DIR: '/data', LUCID_LOG_LEVEL: 'info', LUCID_HEARTBEAT_MS: '1000', LUCID_STOP_TIMEOUT_MS: '10000', LUCID_OTA_URL: 'none',
    LUCID_OTA_INTERVAL_S: 'none', LUCID_OTA_CHANNEL: 'stable', LUCID_OTA_SOAK_S: '120', LUCID_OTA_HEALTH_TIMEOUT_S: '300', LUCID_OTA_AUTO_INSTALL: 'on',
    LUCID_OTA_HOST_DIR: '/var/lib/lucid', LUCID_OTA_BUNDLE_DIR: 'none', LUCID_OTA_TRUST_ROOT: 'none',
  };
  it('reads what the supervisor passes (configToEnv\'s `none` is null) and names a bad variable', () => {
    expect(settingsFromEnv(env)).toMatchObject({ otaUrl: null, otaIntervalS: null, otaHostDir: '/var/lib/lucid', otaSoakS: 120, otaAutoInstall: 'on' });
    expect(settingsFromEnv({ ...env, LUCID_OTA_INTERVAL_S: '3600', LUCID_OTA_URL: 'http://r/' })).toMatchObject({ otaIntervalS: 3600, otaUrl: 'http://r/' });
    expect(() => settingsFromEnv({ ...env, LUCID_OTA_SOAK_S: 'ten' })).toThrow(/LUCID_OTA_SOAK_S/);
    expect(() => settingsFromEnv({ ...env, LUCID_OTA_AUTO_INSTALL: 'yes' })).toThrow(/LUCID_OTA_AUTO_INSTALL/);
  });
});
