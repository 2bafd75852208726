// Integration tests run the built entries (dist/), exactly what `./build.sh run` starts.
// Bundling takes well under a second, so every test run bundles fresh sources.
//
// Every temporary directory of the run (the tests' mkdtemp data dirs, the appliances they
// start, the registry's storage, Chromium's profile) lands under one directory of its own:
// TMPDIR is set here, before the test processes are forked, and the directory is removed
// when the run ends, so repeated runs leave nothing behind in /tmp.
// LUCID_KEEP_TEST_TMP=1 keeps it for a post-mortem; its path is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle } from '../../image/bundle.mjs';

export default async function setup(): Promise<(() => void) | undefined> {
  // vitest runs the global setup once per project, in one process: the first run makes the
  // directory and removes it; the others find it (nesting it would make socket paths too long).
  if (process.env.LUCID_TEST_RUN_TMP !== undefined) return undefined;
  const runDir = mkdtempSync(join(tmpdir(), 'lucid-test-run-'));
  process.env.TMPDIR = runDir;
  process.env.LUCID_TEST_RUN_TMP = runDir;
  await bundle({ quiet: true });
  return () => {
    if (process.env.LUCID_KEEP_TEST_TMP === '1') {
      console.log(`test temporary files kept in ${runDir}`);
      return;
    }
    rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  };
}
