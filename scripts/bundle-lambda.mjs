#!/usr/bin/env node
/**
 * Builds the Lambda bundle: infra/lambda/index.mjs (handler `index.handler`) and the chunks
 * it loads on demand (infra/lambda/chunks/), ESM with the AWS SDK clients inside (the
 * runtime's own SDK copy is not relied on), minified and tree-shaken, plus source maps
 * without sources (the CDK construct runs the function with --enable-source-maps).
 * esbuild's metafile (what went in, and how big) is written to infra/lambda.meta.json,
 * outside the deployed directory.
 *
 * Why chunks: the signing canary (config `canary`) judges mail with mailauth and may read an
 * IMAP inbox with imapflow; together they weigh about three times the rest of the function.
 * The code imports them with `import()` only when a domain has a canary, and code splitting
 * keeps that promise in the bundle: importing the function loads index.mjs and its static
 * imports, `init()` the adapters its config names, and the canary's chunks, shipped beside
 * them, load only for a config with a canary.
 *
 * infra/lambda/ is where the CDK construct looks by default, and what the @byodkim/cdk
 * package carries (its prepack builds it); `npm run package:lambda` zips it for the plain
 * CloudFormation templates.
 *
 *   node scripts/bundle-lambda.mjs [--outdir DIR] [--no-minify] [--quiet]
 *
 * Fails when the bundle would contain something that must never ship in the function (the
 * emulators, the CLI: commander and src/cli, the sandbox, tests); when the canary's mail
 * libraries (mailauth, imapflow) would load on import instead of on demand; or when what
 * the import loads, or the whole directory, grows past its size budget. Prints both sizes.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'src/lambda/handler.ts');
/**
 * 1.6 MB: the budget for what importing the function loads (index.mjs and its static
 * imports; 1.5 MB until SES v1 came in for the batched health reads, +64 KB); `init()` then
 * loads the adapters its config names (S3, DynamoDB, Route 53...).
 */
export const MAX_BYTES = 1_600_000;
/** 5 MB: the budget for the whole function directory (the canary's chunks included), minified. */
export const MAX_TOTAL_BYTES = 5_000_000;

/** Inputs that must not be in the function, by path inside the repository or package name. */
const FORBIDDEN = [
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
/**
 * Inputs that may ship only in chunks loaded on demand: the canary's mail libraries, needed
 * only when a domain has a canary.
 */
const ON_DEMAND_ONLY = [
  { test: (p) => /(^|\/)node_modules\/mailauth\//.test(p), name: 'mailauth' },
  { test: (p) => /(^|\/)node_modules\/imapflow\//.test(p), name: 'imapflow' },
];

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
    entryPoints: { index: ENTRY },
    outdir,
    outExtension: { '.js': '.mjs' },
    // Every `import()` of bundled code becomes a chunk of its own, loaded when first called.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
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
  const meta = result.metafile;
  const repoPath = (p) => relative(ROOT, resolve(ROOT, p));
  const inputs = Object.keys(meta.inputs).map(repoPath);
  const offences = [];
  for (const input of inputs) {
    const rule = FORBIDDEN.find((r) => r.test(input));
    if (rule) offences.push(`${input} (${rule.why})`);
  }
  const outputs = Object.entries(meta.outputs).filter(([file]) => !file.endsWith('.map'));
  const entry = outputs.find(([file]) => resolve(ROOT, file) === outfile)?.[0];
  const onImport = staticClosure(meta, entry);
  for (const file of onImport) {
    for (const input of Object.keys(meta.outputs[file]?.inputs ?? {}).map(repoPath)) {
      const rule = ON_DEMAND_ONLY.find((r) => r.test(input));
      if (rule)
        offences.push(
          `${input} in ${repoPath(file)}, which importing the function loads (${rule.name} must load on demand, for the canary only)`,
        );
    }
  }
  if (offences.length > 0) {
    throw new Error(`the Lambda bundle must not contain:\n  ${offences.join('\n  ')}`);
  }
  const sizeOf = (files) => files.reduce((n, file) => n + (meta.outputs[file]?.bytes ?? 0), 0);
  const bytes = sizeOf([...onImport]);
  const totalBytes = sizeOf(outputs.map(([file]) => file));
  if (options.minify ?? true) {
    if (bytes > MAX_BYTES)
      throw new Error(`importing the Lambda bundle loads ${bytes} bytes, over the ${MAX_BYTES}-byte budget`);
    if (totalBytes > MAX_TOTAL_BYTES)
      throw new Error(
        `the Lambda bundle is ${totalBytes} bytes in all, over the ${MAX_TOTAL_BYTES}-byte budget`,
      );
  }
  // Beside the function directory, not in it: the whole directory is the deployed asset.
  await writeFile(`${outdir}.meta.json`, JSON.stringify(meta));
  return { outfile, bytes, totalBytes, files: outputs.length, inputs: inputs.length };
}

/** The output files a module loads before it runs: itself and its static imports, transitively. */
function staticClosure(meta, entry) {
  const seen = new Set();
  const queue = entry === undefined ? [] : [entry];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imported of meta.outputs[file]?.imports ?? [])
      if (imported.kind === 'import-statement' && meta.outputs[imported.path]) queue.push(imported.path);
  }
  return seen;
}

async function main() {
  const { values } = parseArgs({
    options: {
      outdir: { type: 'string' },
      'no-minify': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const { outfile, bytes, totalBytes, files, inputs } = await bundleLambda({
    ...(values.outdir === undefined ? {} : { outdir: values.outdir }),
    minify: !values['no-minify'],
  });
  if (!values.quiet) {
    console.log(
      `${relative(process.cwd(), outfile)}: ${bytes} bytes (${(bytes / 1_048_576).toFixed(2)} MiB) loaded on import; ` +
        `${totalBytes} bytes in ${files} files with the chunks loaded on demand; from ${inputs} inputs`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`bundle-lambda: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
