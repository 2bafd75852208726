import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, configToEnv, SETTINGS, EXIT_CONFIG } from '../../../appliance/config/index.js';

const dev = { isPi: () => false };

describe('config', () => {
  it('has documented defaults for dev', () => {
    const r = loadConfig({ env: {}, ...dev });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toMatchObject({ profile: 'dev', dataDir: './data', host: '127.0.0.1', port: 8080, hal: 'auto', logLevel: 'info' });
    expect(Object.isFrozen(r.config)).toBe(true);
    expect(Object.isFrozen(r.config.ledSysfs)).toBe(true);
  });

  it('defaults to the device profile on a Pi (listen on the LAN, data in /data, ACT LED)', () => {
    const r = loadConfig({ env: {}, isPi: () => true });
    expect(r.ok && r.config).toMatchObject({ profile: 'device', host: '0.0.0.0', dataDir: '/data', ledSysfs: ['ACT'] });
  });

  it('reads LUCID_* variables with their types', () => {
    const r = loadConfig({
      env: { LUCID_PORT: '9090', LUCID_HAL: 'sim', LUCID_LED_GPIO: '17, 27', LUCID_BUTTON_GPIO: '22', LUCID_WATCHDOG_DEVICE: '/dev/watchdog' },
      ...dev,
    });
    expect(r.ok && r.config).toMatchObject({ port: 9090, hal: 'sim', ledGpio: [17, 27], buttonGpio: 22, watchdogDevice: '/dev/watchdog' });
  });

  it.each([
    ['LUCID_PORT', 'abc', /LUCID_PORT.*integer/],
    ['LUCID_PORT', '0', /LUCID_PORT.*>= 1/],
    ['LUCID_PORT', '70000', /LUCID_PORT.*<= 65535/],
    ['LUCID_HAL', 'gpio', /LUCID_HAL.*one of auto\|sim\|pi/],
    ['LUCID_LOG_LEVEL', 'loud', /LUCID_LOG_LEVEL.*one of/],
    ['LUCID_LED_GPIO', '17,x', /LUCID_LED_GPIO.*integer/],
    ['LUCID_EXTRA_CHILDREN', '[{', /LUCID_EXTRA_CHILDREN.*JSON/],
    ['LUCID_EXTRA_CHILDREN', '[{"name":"X","entry":"a"}]', /LUCID_EXTRA_CHILDREN.*name/],
    ['LUCID_HEARTBEAT_MS', '5', /LUCID_HEARTBEAT_MS.*>= 100/],
  ])('rejects %s=%s naming the key', (key, value, pattern) => {
    const r = loadConfig({ env: { [key]: value }, ...dev });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(`${r.key}: ${r.message}`).toMatch(pattern);
  });

  it('reads a JSON config file; variables win over it; unknown keys are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lucid-cfg-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ port: 7000, logLevel: 'debug' }));
    const r = loadConfig({ env: { LUCID_CONFIG: file, LUCID_LOG_LEVEL: 'warn' }, ...dev });
    expect(r.ok && r.config).toMatchObject({ port: 7000, logLevel: 'warn' });

    writeFileSync(file, JSON.stringify({ port: 'x' }));
    const bad = loadConfig({ env: { LUCID_CONFIG: file }, ...dev });
    expect(!bad.ok && `${bad.key}: ${bad.message}`).toMatch(/LUCID_PORT \(port in .*config.json\)/);

    writeFileSync(file, JSON.stringify({ prot: 1 }));
    const unknown = loadConfig({ env: { LUCID_CONFIG: file }, ...dev });
    expect(!unknown.ok && unknown.message).toMatch(/unknown setting "prot"/);
  });

  it('round-trips through the environment a child process receives', () => {
    const r = loadConfig({ env: { LUCID_LED_GPIO: '5', LUCID_EXTRA_CHILDREN: '[{"name":"x","entry":"/x.mjs"}]' }, ...dev });
    if (!r.ok) throw new Error(r.message);
    const again = loadConfig({ env: configToEnv(r.config), ...dev });
    expect(again.ok && again.config).toEqual(r.config);
  });

  it('the README documents every setting', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    for (const s of SETTINGS) expect(readme, `${s.env} missing from README`).toContain(`\`${s.env}\``);
  });

  it('a bad setting stops the real supervisor with one line and exit 78, starting nothing', () => {
    const data = mkdtempSync(join(tmpdir(), 'lucid-badcfg-'));
    const result = spawnSync(process.execPath, [join(__dirname, '../../../dist/entries/supervisor.mjs')], {
      env: { ...process.env, LUCID_PORT: 'eighty', LUCID_DATA_DIR: data },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(EXIT_CONFIG);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/LUCID_PORT/);
    expect(result.stdout).toBe('');
    expect(readdirSync(data)).toEqual([]);
  });
});
