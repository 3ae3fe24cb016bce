/** Writes schema/byodkim.config.schema.json from the zod config schema (npm run schema). */
import { writeFile } from 'node:fs/promises';
import { configJsonSchema } from '../src/config/json-schema.js';

const path = new URL('../schema/byodkim.config.schema.json', import.meta.url);
await writeFile(path, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.pathname}`);
