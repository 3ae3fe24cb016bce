#!/usr/bin/env node
/**
 * The function zip for the plain CloudFormation templates: builds the Lambda bundle from this
 * checkout (scripts/bundle-lambda.mjs, into infra/lambda) and zips it as
 * templates/byodkim-lambda.zip, next to the templates that deploy it (their `CodeBucket` /
 * `CodeKey` parameters point at wherever you upload it).
 *
 *   node scripts/package-lambda.mjs [--out FILE]
 *
 * The zip is deterministic: the same bundle gives the same bytes (fixed timestamps, sorted
 * entries), so re-uploading an unchanged function changes nothing. Prints the path, its size
 * and its SHA-256.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { zipSync } from 'fflate';
import { bundleLambda } from './bundle-lambda.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_ZIP = join(ROOT, 'templates/byodkim-lambda.zip');
/** Zip timestamps are DOS times (1980 or later); any fixed moment makes the zip reproducible. */
const FIXED_TIME = new Date('2000-01-01T00:00:00Z');

/** Zips every file under `directory` (paths relative to it, `/`-separated, sorted). */
export async function zipDirectory(directory) {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => relative(directory, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
  const contents = {};
  for (const file of files) {
    contents[file] = [await readFile(join(directory, file)), { mtime: FIXED_TIME }];
  }
  return zipSync(contents, { level: 9 });
}

export async function packageLambda(out = DEFAULT_ZIP) {
  const { outfile } = await bundleLambda();
  const zip = await zipDirectory(dirname(outfile));
  await writeFile(out, zip);
  return { out, bytes: zip.length, sha256: createHash('sha256').update(zip).digest('hex') };
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const { out, bytes, sha256 } = await packageLambda(
    values.out === undefined ? undefined : resolve(values.out),
  );
  console.log(`${relative(process.cwd(), out)}: ${bytes} bytes, sha256 ${sha256}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`package-lambda: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
