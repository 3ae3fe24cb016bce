/**
 * Lambda bundle size and cold init.
 *
 * Bundle: `node scripts/bundle-lambda.mjs --outdir <cache>/lambda` (the same build as
 * infra/lambda/, written to the bench's own directory so a bench run never replaces the
 * bundle someone else is testing). The size is what importing index.mjs loads (itself and its
 * static imports, from esbuild's metafile), minified, SDK clients included; the chunks loaded
 * on demand (adapters a config names, the canary's mail judge) are reported beside it as the
 * total. Source maps are not counted (they ship beside the code, read only for stack traces).
 * When the script is not in the tree yet, the row says "not built".
 *
 * Cold init: a fresh `node --enable-source-maps` (as the CDK construct sets NODE_OPTIONS)
 * imports the bundle and awaits its exported `init()` (what the first invocation does
 * before handling the event: read the config from BYODKIM_CONFIG, parse it, build the AWS
 * client factory, stores, SES, DNS publisher and notifiers, loading their chunks; no
 * network). Baseline: `node -e 0`. A variant configures a canary, which also loads the
 * canary's chunks (mailauth) at init.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { BenchContext } from '../lib/context.js';
import { run } from '../lib/proc.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { type StartupTiming, timeStartup } from '../lib/startup.js';
import { CACHE_DIR, ROOT } from '../lib/worker.js';

export const BUNDLE_MAX_BYTES = 1_600_000;
export const COLD_INIT_TARGET_MS = 250;

const BUNDLE_SCRIPT = join(ROOT, 'scripts/bundle-lambda.mjs');
const BUNDLE_DIR = join(CACHE_DIR, 'lambda');
export const BUNDLE_FILE = join(BUNDLE_DIR, 'index.mjs');

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function lambdaBundle(ctx: BenchContext): Promise<FigureResult & { built: boolean }> {
  const started = performance.now();
  const figure = 'Lambda bundle (minified, SDK clients in)';
  if (!(await exists(BUNDLE_SCRIPT))) {
    return {
      id: 'bundle',
      title: 'Lambda bundle',
      built: false,
      rows: [
        {
          figure,
          measured: 'not built (scripts/bundle-lambda.mjs missing)',
          baseline: '—',
          target: '≤ 1.6 MB',
          verdict: 'SKIP',
        },
      ],
      details: { built: false },
      notes: [],
      seconds: 0,
    };
  }
  ctx.log('Lambda bundle: node scripts/bundle-lambda.mjs');
  const result = await run(process.execPath, [BUNDLE_SCRIPT, '--outdir', BUNDLE_DIR, '--quiet'], {
    cwd: ROOT,
    timeoutMs: 180_000,
  });
  const built = await exists(BUNDLE_FILE);
  if (!built) {
    return {
      id: 'bundle',
      title: 'Lambda bundle',
      built: false,
      rows: [
        {
          figure,
          measured: `not built: ${result.stderr.trim().split('\n')[0] ?? `exit ${result.code}`}`,
          baseline: '—',
          target: '≤ 1.6 MB',
          verdict: 'ERROR',
        },
      ],
      details: { built: false, stderr: result.stderr.slice(-2000) },
      notes: [],
      seconds: (performance.now() - started) / 1000,
    };
  }
  let inputs: string[] = [];
  /** Bytes loaded on import by package (or `src`), from esbuild's metafile. */
  const byPackage: Record<string, number> = {};
  /** Output files importing index.mjs loads, and every code file of the bundle. */
  let onImport: string[] = [];
  let allFiles: string[] = [];
  try {
    const meta = JSON.parse(await readFile(`${BUNDLE_DIR}.meta.json`, 'utf8')) as BundleMeta;
    inputs = Object.keys(meta.inputs);
    allFiles = Object.keys(meta.outputs).filter((f) => !f.endsWith('.map'));
    onImport = staticClosure(
      meta,
      allFiles.find((f) => f.endsWith('/lambda/index.mjs')),
    );
    for (const output of onImport) {
      for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[output]?.inputs ?? {})) {
        const pkg = /node_modules\/(@[^/]+\/[^/]+|[^/]+)\//.exec(input)?.[1] ?? input.split('/')[0] ?? input;
        byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput;
      }
    }
  } catch {
    // no metafile: the size falls back to index.mjs alone
  }
  const read = (files: string[]) => Promise.all(files.map((f) => readFile(join(ROOT, f))));
  const loaded = onImport.length > 0 ? Buffer.concat(await read(onImport)) : await readFile(BUNDLE_FILE);
  const bytes = loaded.length;
  const gzipBytes = gzipSync(loaded).length;
  const totalBytes = (await read(allFiles)).reduce((n, b) => n + b.length, 0);
  const sdkClients = Object.keys(byPackage).filter((p) => p.startsWith('@aws-sdk/client-'));
  const groups: Record<string, number> = {};
  for (const [pkg, bytes] of Object.entries(byPackage)) {
    const group = pkg.startsWith('@aws-sdk/client-')
      ? 'SDK clients'
      : pkg.startsWith('@aws-sdk/') || pkg.startsWith('@smithy/') || pkg.startsWith('@aws-crypto/')
        ? 'SDK core (@aws-sdk, @smithy)'
        : pkg === 'src'
          ? 'byodkim src'
          : pkg;
    groups[group] = (groups[group] ?? 0) + bytes;
  }
  const topGroups = Object.entries(groups)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([g, b]) => `${g} ${fmt(b / 1_000_000, 2)} MB`);
  const scriptRejected =
    result.code !== 0 ? (result.stderr.trim().split('\n').slice(0, 2).join(' ') ?? '') : '';
  return {
    id: 'bundle',
    title: 'Lambda bundle',
    built: true,
    rows: [
      {
        figure,
        measured: `${fmt(bytes / 1_000_000, 2)} MB on import (${bytes} B; gzip ${fmt(gzipBytes / 1_000_000, 2)} MB); ${fmt(totalBytes / 1_000_000, 2)} MB in ${allFiles.length} files${scriptRejected ? `; script: ${scriptRejected}` : ''}`,
        baseline: '—',
        ratio: bytes / BUNDLE_MAX_BYTES,
        target: '≤ 1.6 MB',
        verdict: verdict(bytes <= BUNDLE_MAX_BYTES && result.code === 0),
      },
    ],
    details: {
      built: true,
      bytes,
      gzipBytes,
      totalBytes,
      files: allFiles.length,
      filesOnImport: onImport.length,
      sdkClients,
      inputs: inputs.length,
      bytesByGroup: groups,
      bytesByPackage: byPackage,
      scriptExit: result.code,
    },
    notes:
      sdkClients.length > 0
        ? [
            `Lambda bundle: ${sdkClients.join(', ')} loaded on import; largest parts: ${topGroups.join(', ')} (minified bytes importing index.mjs loads; the rest, the canary's mailauth and imapflow among it, loads on demand).`,
          ]
        : [],
    seconds: (performance.now() - started) / 1000,
  };
}

interface BundleMeta {
  inputs: Record<string, unknown>;
  outputs: Record<
    string,
    {
      inputs?: Record<string, { bytesInOutput: number }>;
      imports?: Array<{ path: string; kind: string }>;
    }
  >;
}

/** The output files a module loads before it runs: itself and its static imports, transitively. */
function staticClosure(meta: BundleMeta, entry: string | undefined): string[] {
  const seen = new Set<string>();
  const queue = entry === undefined ? [] : [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const i of meta.outputs[file]?.imports ?? [])
      if (i.kind === 'import-statement' && meta.outputs[i.path]) queue.push(i.path);
  }
  return [...seen];
}

/** A config as the AWS deployment would have it: S3 keys, DynamoDB state, Route 53, SNS. */
function lambdaConfig(canary = false): string {
  const domains = Array.from({ length: 10 }, (_, i) => ({
    domain: `d${i}.example.com`,
    regions: ['us-east-1', 'eu-west-1'],
  }));
  return [
    'keys: {"type":"s3","bucket":"byodkim-bench-keys","kmsKeyId":"alias/byodkim"}',
    'state: {"type":"dynamodb","table":"byodkim-bench-state"}',
    'dns: {"provider":"route53"}',
    'notify: [{"type":"sns","topicArn":"arn:aws:sns:us-east-1:123456789012:byodkim"}]',
    `domains: ${JSON.stringify(domains)}`,
    ...(canary
      ? [
          'canary: {"to":"canary@inbox.example.net","inbox":{"type":"s3","bucket":"byodkim-bench-inbox","prefix":"canary/"}}',
        ]
      : []),
    '',
  ].join('\n');
}

export async function lambdaColdInit(ctx: BenchContext, bundleBuilt: boolean): Promise<FigureResult> {
  const started = performance.now();
  const figure = 'Lambda cold init (fresh process: import + init())';
  if (!bundleBuilt) {
    return {
      id: 'cold-init',
      title: 'Lambda cold init',
      rows: [
        {
          figure,
          measured: 'not built',
          baseline: '—',
          target: `≤ ${COLD_INIT_TARGET_MS} ms`,
          verdict: 'SKIP',
        },
      ],
      details: {},
      notes: [],
      seconds: 0,
    };
  }
  const env: NodeJS.ProcessEnv = {
    BENCH_BUNDLE_URL: pathToFileURL(BUNDLE_FILE).href,
    BYODKIM_CONFIG: lambdaConfig(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCH',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    AWS_LAMBDA_FUNCTION_NAME: 'byodkim-bench',
  };
  const script = [
    'const m = await import(process.env.BENCH_BUNDLE_URL);',
    "if (process.env.BENCH_INIT === '1') { const rt = await m.init();",
    "  if (rt.loaded.domains.length !== 10) throw new Error('config not loaded'); }",
  ].join('\n');
  const command = (init: boolean, canary = false) => ({
    args: ['--enable-source-maps', '--input-type=module', '-e', script],
    env: { ...env, BENCH_INIT: init ? '1' : '0', ...(canary ? { BYODKIM_CONFIG: lambdaConfig(true) } : {}) },
  });
  const runs = ctx.sizes.startRuns;
  ctx.log(`Lambda cold init: ${runs} fresh processes each, interleaved with node -e 0`);
  let full: StartupTiming | undefined;
  let importOnly: StartupTiming | undefined;
  let withCanary: StartupTiming | undefined;
  let error: string | undefined;
  try {
    full = await timeStartup(command(true), runs);
    ctx.log('Lambda cold init: import only');
    importOnly = await timeStartup(command(false), Math.max(5, Math.floor(runs / 2)));
    ctx.log('Lambda cold init: with a canary configured');
    withCanary = await timeStartup(command(true, true), Math.max(5, Math.floor(runs / 2)));
  } catch (e) {
    error = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
  }
  const rows: Row[] = [];
  if (full === undefined) {
    rows.push({
      figure,
      measured: `error: ${error}`,
      baseline: 'node -e 0',
      target: `≤ ${COLD_INIT_TARGET_MS} ms`,
      verdict: 'ERROR',
    });
  } else {
    rows.push({
      figure,
      measured: `+${fmt(full.overheadMs, 0)} ms (median ${fmt(full.targetMedianMs, 0)} ms, n=${full.runs})`,
      baseline: `node -e 0 ${fmt(full.baselineMedianMs, 0)} ms`,
      ratio: full.targetMedianMs / full.baselineMedianMs,
      target: `overhead ≤ ${COLD_INIT_TARGET_MS} ms`,
      verdict: verdict(full.overheadMs <= COLD_INIT_TARGET_MS),
    });
    if (importOnly) {
      rows.push({
        figure: '  of which import alone',
        measured: `+${fmt(importOnly.overheadMs, 0)} ms (n=${importOnly.runs})`,
        baseline: `node -e 0 ${fmt(importOnly.baselineMedianMs, 0)} ms`,
        ratio: importOnly.targetMedianMs / importOnly.baselineMedianMs,
        target: 'report',
        verdict: 'info',
      });
    }
    if (withCanary) {
      rows.push({
        figure: '  with a canary configured (loads mailauth)',
        measured: `+${fmt(withCanary.overheadMs, 0)} ms (median ${fmt(withCanary.targetMedianMs, 0)} ms, n=${withCanary.runs})`,
        baseline: `node -e 0 ${fmt(withCanary.baselineMedianMs, 0)} ms`,
        ratio: withCanary.targetMedianMs / withCanary.baselineMedianMs,
        target: 'report',
        verdict: 'info',
      });
    }
  }
  return {
    id: 'cold-init',
    title: 'Lambda cold init',
    rows,
    details: { full, importOnly, withCanary, error, nodeOptions: '--enable-source-maps' },
    notes: [],
    seconds: (performance.now() - started) / 1000,
  };
}
