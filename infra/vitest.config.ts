import { defineConfig } from 'vitest/config';

// Synthesizing CDK stacks takes a few seconds each; the templates test synthesizes four.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
