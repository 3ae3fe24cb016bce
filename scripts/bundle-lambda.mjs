#!/usr/bin/env node
/**
 * Builds the Lambda bundle: infra/lambda/index.mjs (handler `index.handler`), one ESM file
 * with the AWS SDK clients inside (the runtime's own SDK copy is not relied on), minified
 * and tree-shaken, plus a source map without sources (the CDK construct runs the function
 * with --enable-source-maps). esbuild's metafile (what went in, and how big) is written to
 * infra/lambda.meta.json, outside the deployed directory.
 *
 * infra/lambda/ is where the CDK construct looks by default, and what the @byodkim/cdk
 * package carries (its prepack builds it); `npm run package:lambda` zips it for the plain
 * CloudFormation templates.
 *
 *   node scripts/bundle-lambda.mjs [--outdir DIR] [--no-minify] [--quiet]
 *
 * Fails when the bundle would contain something that must never ship in the function:
 * mailauth (test-time DKIM verification), the emulators, the CLI (commander, src/cli) or
 * the sandbox; or when it grows past the size budget. Prints the bundle size in bytes.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'src/lambda/handler.ts');
/** 1.6 MB: the budget for the minified bundle (1.5 MB until SES v1 came in for the batched health reads, +64 KB). */
export const MAX_BYTES = 1_600_000;

/** Inputs that must not be in the function, by path inside the repository or package name. */
const FORBIDDEN = [
  { test: (p) => /(^|\/)node_modules\/mailauth\//.test(p), why: 'mailauth is for tests only' },
  { test: (p) => /(^|\/)node_modules\/commander\//.test(p), why: 'commander belongs to the CLI' },
  { test: (p) => p.startsWith('emulator/'), why: 'the emulators are for tests and the sandbox' },
  { test: (p) => p.startsWith('src/cli/'), why: 'the CLI is not part of the function' },
  {
    test: (p) => /sandbox/.test(p) && !p.includes('node_modules/'),
    why: 'the sandbox is not part of the function',
  },
  { test: (p) => p.startsWith('test/'), why: 'test code is not part of the function' },
];

/**
 * Some CommonJS dependencies call `require` for Node built-ins; in an ESM bundle esbuild's
 * shim needs a real `require`, which this banner provides.
 */
const BANNER = [
  "import { createRequire as __byodkimCreateRequire } from 'node:module';",
  'const require = __byodkimCreateRequire(import.meta.url);',
].join('\n');

/**
 * zod loads every locale's error messages (about 250 kB minified); byodkim reports in
 * English only, so the bundle gets a locales module with just `en`.
 */
const englishOnlyZod = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
      loader: 'js',
    }));
  },
};

export async function bundleLambda(options = {}) {
  const outdir = resolve(options.outdir ?? join(ROOT, 'infra/lambda'));
  const outfile = join(outdir, 'index.mjs');
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: options.minify ?? true,
    treeShaking: true,
    // Prefer the packages' ESM builds (`module` field and export condition, on by default):
    // they tree-shake; CJS builds do not.
    mainFields: ['module', 'main'],
    sourcemap: 'external',
    sourcesContent: false,
    legalComments: 'none',
    // Error classes name themselves (`this.name = new.target.name`): keep the names in logs.
    keepNames: true,
    banner: { js: BANNER },
    plugins: [englishOnlyZod],
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(ROOT, resolve(ROOT, p)));
  const offences = [];
  for (const input of inputs) {
    const rule = FORBIDDEN.find((r) => r.test(input));
    if (rule) offences.push(`${input} (${rule.why})`);
  }
  if (offences.length > 0) {
    throw new Error(`the Lambda bundle must not contain:\n  ${offences.join('\n  ')}`);
  }
  const bytes = (await stat(outfile)).size;
  if ((options.minify ?? true) && bytes > MAX_BYTES) {
    throw new Error(`the Lambda bundle is ${bytes} bytes, over the ${MAX_BYTES}-byte budget`);
  }
  // Beside the function directory, not in it: the whole directory is the deployed asset.
  await writeFile(`${outdir}.meta.json`, JSON.stringify(result.metafile));
  return { outfile, bytes, inputs: inputs.length };
}

async function main() {
  const { values } = parseArgs({
    options: {
      outdir: { type: 'string' },
      'no-minify': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const { outfile, bytes, inputs } = await bundleLambda({
    ...(values.outdir === undefined ? {} : { outdir: values.outdir }),
    minify: !values['no-minify'],
  });
  if (!values.quiet) {
    console.log(
      `${relative(process.cwd(), outfile)}: ${bytes} bytes (${(bytes / 1_048_576).toFixed(2)} MiB) from ${inputs} inputs`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`bundle-lambda: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
