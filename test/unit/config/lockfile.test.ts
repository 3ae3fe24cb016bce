import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` (the README's set-up) refuses a lock that leaves out a package's optional
 * platform binaries. npm drops Biome's when its registry does not serve them (this
 * workplace's mirror), so a plain `npm install` can break the set-up for everyone.
 */
describe('package-lock.json', () => {
  it('lists every platform binary of Biome (fix: node scripts/complete-lock.mjs)', async () => {
    const lock = JSON.parse(
      await readFile(new URL('../../../package-lock.json', import.meta.url), 'utf8'),
    ) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const biome = lock.packages['node_modules/@biomejs/biome'];
    const missing = Object.keys(biome?.optionalDependencies ?? {}).filter(
      (name) => !lock.packages[`node_modules/${name}`],
    );
    expect(missing, 'run `node scripts/complete-lock.mjs` after `npm install`').toEqual([]);
  });
});
