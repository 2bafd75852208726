// A child process must be able to exit after the reader of its stdout (the supervisor) is gone:
// with pino's asynchronous default stream, the exit handler's flushSync() retried EPIPE for ever
// and the ota-agent outlived a SIGKILLed supervisor (tests/integration/supervisor-tree.test.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const fixture = fileURLToPath(new URL('../../fixtures/log-after-reader-gone.ts', import.meta.url));

describe('createRootLogger', () => {
  it('lets the process exit promptly when its stdout reader has gone', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // the reader is gone
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    child.stdin.write('go\n');
    const exit = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 5000);
      child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
    });
    expect(stderr).toContain('exiting');
    expect(exit, `still running ${Date.now() - started} ms after process.exit (stderr: ${stderr})`).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
  }, 20_000);
});
