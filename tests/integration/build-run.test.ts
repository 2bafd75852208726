// The README's command itself: `./build.sh run` serves /healthz 200 within 10 s (npm packages
// are already installed here, so this measures bundling + boot), prints both URLs and the
// certificate's fingerprint, serves the UI over both, and stops cleanly on SIGTERM.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { freePort, ROOT, isRunning } from '../helpers/appliance.js';
import { applianceCertificate, pinnedFetch } from '../helpers/tls.js';

describe('./build.sh run', () => {
  it('serves /healthz 200 within 10 s, prints both URLs and the fingerprint, and exits on SIGTERM', async () => {
    const port = await freePort();
    const httpsPort = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'lucid-run-'));
    const child = spawn(join(ROOT, 'build.sh'), ['run'], {
      cwd: ROOT,
      env: { ...process.env, LUCID_PORT: String(port), LUCID_HTTPS_PORT: String(httpsPort), LUCID_DATA_DIR: dataDir, LUCID_HAL: 'sim', LUCID_PROFILE: 'dev' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      let healthy = false;
      while (Date.now() - started < 10_000 && !healthy) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      expect(healthy, out).toBe(true);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script type="module" src="/app.js">');
      const cert = applianceCertificate(dataDir);
      const secure = await pinnedFetch(cert)(`https://127.0.0.1:${httpsPort}/`);
      expect(secure.status).toBe(200);
      expect(await secure.text()).toContain('<script type="module" src="/app.js">');
      expect(out).toContain(`web UI on https://127.0.0.1:${httpsPort}/ and http://127.0.0.1:${port}/`);
      expect(out).toContain(`TLS certificate SHA-256 ${new X509Certificate(cert).fingerprint256}`);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(isRunning(child.pid!)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
