import { z } from 'zod';
import { configSchema } from './schema.js';

/** JSON Schema of the config file (what a user writes, so defaults are optional), for editors. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    $id: 'https://byodkim.dev/schema/byodkim.config.schema.json',
    title: 'byodkim configuration',
  };
}
