import { defineConfig } from 'vitest/config';

// `unit` and `e2e` need nothing outside this repository: `unit` is the fast suite (npm test,
// a few minutes); `e2e` runs the real CLI against the emulators for simulated days and months
// (npm run test:e2e, about as long again, so it is a script of its own);
// `integration` needs real services (BIND 9, moto server) and runs in .ci/run;
// `properties` runs the engine's property tests at full strength (npm run test:properties):
// 1,000 runs per property unless BYODKIM_PROPERTY_RUNS says otherwise (unit runs them a few
// dozen times).
// `release` packs both packages and installs them outside the repository (npm test:release).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'properties',
          include: ['test/unit/engine/properties.test.ts'],
          env: { BYODKIM_PROPERTY_RUNS: process.env.BYODKIM_PROPERTY_RUNS ?? '1000' },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'release',
          include: ['test/release/**/*.test.ts'],
          globalSetup: ['test/release/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One file at a time: packing and installing are CPU- and disk-heavy already.
          fileParallelism: false,
        },
      },
    ],
  },
});
