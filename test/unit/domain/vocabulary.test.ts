import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/domain/vocabulary.js';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const VOCABULARY = 'domain/vocabulary.ts';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** `x === 'Code'`, `'Code' !== x`, `case 'Code':`, `.includes('Code')` and the like, for every reason code. */
function literalComparisons(text: string): string[] {
  const codes = Object.values(Reason).flatMap((code) => [code, `${code}Failed`, `${code}Deferred`]);
  const literal = `['"\`](?:${codes.join('|')})['"\`]`;
  const pattern = new RegExp(
    `(?:[!=]==?\\s*${literal})|(?:${literal}\\s*[!=]==?)|(?:case\\s+${literal})|(?:\\.(?:includes|startsWith|endsWith|has)\\(\\s*${literal})`,
    'g',
  );
  return [...text.matchAll(pattern)].map((m) => m[0]);
}

describe('the vocabulary module', () => {
  it('is the only module that compares a reason code spelled as a string literal', async () => {
    const found: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = relative(SRC, file);
      if (rel === VOCABULARY) continue;
      for (const match of literalComparisons(await readFile(file, 'utf8'))) found.push(`${rel}: ${match}`);
    }
    expect(found).toEqual([]);
  });

  it('recognises such a comparison (the check above can fail)', () => {
    expect(literalComparisons("if (w.reason === 'SesUnavailable') return 3;")).toHaveLength(1);
    expect(literalComparisons("switch (r) { case 'GraceOver': }")).toHaveLength(1);
    expect(literalComparisons("if ('KeyMismatchFailed' !== h.reason) {}")).toHaveLength(1);
    expect(literalComparisons('if (w.reason === Reason.SesUnavailable) return 3;')).toEqual([]);
  });
});
