import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../../src/config/json-schema.js';

describe('config JSON Schema', () => {
  it('is committed and up to date with the zod schema (run `npm run schema` after changing it)', async () => {
    const committed = JSON.parse(
      await readFile(new URL('../../../schema/byodkim.config.schema.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('describes the domains list with regions and the policy defaults', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { type?: string; properties?: Record<string, { default?: unknown }> }>;
    };
    expect(schema.properties.domains?.type).toBe('array');
    expect(schema.properties.policy?.properties?.validityDays?.default).toBe(365);
  });
});
