import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { allCodes } from '../../../src/doctor/rules/index.js';

describe('docs/doctor.md', () => {
  it('documents every finding code with its severity, and no code that does not exist', async () => {
    const doc = await readFile(new URL('../../../docs/doctor.md', import.meta.url), 'utf8');
    const rows = new Map(
      [...doc.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1] as string, m[2] as string]),
    );
    const codes = allCodes();
    for (const { code, severity } of codes) {
      const documented = rows.get(code);
      expect(documented, code).toBeDefined();
      const severities = typeof severity === 'string' ? [severity] : severity;
      const byRole = documented?.includes('by role') ?? false;
      for (const s of severities) {
        if (byRole && (s === 'error' || s === 'warning')) continue;
        expect(documented, `${code} ${s}`).toContain(s);
      }
    }
    expect([...rows.keys()].sort()).toEqual(codes.map((c) => c.code).sort());
  });
});
