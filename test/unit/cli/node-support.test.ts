import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

describe('supported Node.js', () => {
  it('is 22 or newer, as for the AWS SDK and the Lambda runtime (Node 20 reached end of life in April 2026)', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe('>=22');
  });
});
