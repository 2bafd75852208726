import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['tests/helpers/global-setup.ts'],
    // Integration tests start real processes and servers; keep them from starving each other on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, 'tests/image/**', 'tests/ota/**', 'tests/vm/**'], sequence: { groupOrder: 0 } },
      },
      {
        // The image group builds and runs the OCI image (compiles, qemu, gzip): it runs after the
        // rest so its CPU load cannot make the timing-sensitive integration tests miss deadlines.
        // tests/ota runs releases made from that image on the process-level OTA harness.
        extends: true,
        test: { name: 'image', include: ['tests/image/**/*.test.ts', 'tests/ota/**/*.test.ts'], sequence: { groupOrder: 1 } },
      },
      {
        // The VM tier (tests/vm/README.md): qemu guests under software emulation, one at a time
        // (each takes both cores), after everything else.
        extends: true,
        test: { name: 'vm', include: ['tests/vm/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
