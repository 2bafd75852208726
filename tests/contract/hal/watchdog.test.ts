// Runs the watchdog contract against the simulated watchdog and the /dev/watchdog driver on a
// plain file, which records every byte written. Not run against a real /dev/watchdog: kicks are
// not observable there, and a test that dies between open and close reboots the Pi.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevWatchdog, createSimWatchdog } from '../../../hal/index.js';
import { makeTempRoot, removeTempRoot } from '../../fixtures/hal/fake-sysfs.js';
import { describeWatchdogContract } from './watchdog-contract.js';

describeWatchdogContract('sim', async () => {
  const watchdog = createSimWatchdog();
  return { driver: watchdog, kicks: async () => watchdog.kicks, closedCleanly: async () => watchdog.closedCleanly };
});

describeWatchdogContract('dev on a plain file', async () => {
  const dir = await makeTempRoot();
  const path = join(dir, 'watchdog');
  await writeFile(path, '');
  const written = (): Promise<string> => readFile(path, 'latin1');
  return {
    driver: createDevWatchdog({ path }),
    kicks: async () => [...(await written())].filter((c) => c !== 'V').length,
    closedCleanly: async () => (await written()).endsWith('V'),
    cleanup: () => removeTempRoot(dir),
  };
});
