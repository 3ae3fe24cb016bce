/**
 * Writes templates/dkim-manager-lambda.yaml and templates/ses-configuration.yaml from the
 * construct (npm run templates). `--check` compares instead of writing and exits 1 when stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTemplates } from '../lib/render-templates.js';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../templates');
const check = process.argv.includes('--check');
let stale = 0;
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(renderTemplates())) {
  const path = resolve(dir, file);
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {}
    if (current !== text) {
      stale++;
      process.stderr.write(`${path} is stale: run "npm run templates"\n`);
    }
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
