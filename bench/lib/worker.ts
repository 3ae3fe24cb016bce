/**
 * The engine side of the bench runs in its own process, apart from the emulators, so its
 * time and peak RSS are its own. The worker (bench/children/worker.ts) is bundled with
 * esbuild (src/ inlined, npm packages left to node_modules as the CLI loads them) and run
 * with plain `node`: no TypeScript loader in the measured process.
 *
 * The bundle goes to node_modules/.cache/byodkim-bench/, where Node resolves the packages
 * from the repository's node_modules and no tool (git, Biome, tsc) looks.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parseWorkerResult, type RunResult, run } from './proc.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE_DIR = join(ROOT, 'node_modules/.cache/byodkim-bench');
const WORKER_ENTRY = join(ROOT, 'bench/children/worker.ts');
export const WORKER_BUNDLE = join(CACHE_DIR, 'worker.mjs');

let built: Promise<string> | undefined;

/** Bundles the worker once per bench run. */
export function buildWorker(): Promise<string> {
  built ??= (async () => {
    await mkdir(CACHE_DIR, { recursive: true });
    await build({
      entryPoints: [WORKER_ENTRY],
      outfile: WORKER_BUNDLE,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'error',
      absWorkingDir: ROOT,
    });
    return WORKER_BUNDLE;
  })();
  return built;
}

export interface WorkerRun<T> {
  result: T;
  process: RunResult;
}

/** Runs one worker command in a fresh `node` process and returns its JSON result. */
export async function runWorker<T>(
  command: string,
  input: unknown,
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<WorkerRun<T>> {
  const bundle = await buildWorker();
  let argument = JSON.stringify(input);
  let inputFile: string | undefined;
  if (argument.length > 64_000) {
    // Too long for one command-line argument (Linux caps one at 128 KiB).
    inputFile = join(CACHE_DIR, `input-${randomUUID()}.json`);
    await writeFile(inputFile, argument);
    argument = `@${inputFile}`;
  }
  try {
    const processResult = await run(process.execPath, [bundle, command, argument], {
      cwd: ROOT,
      timeoutMs: options.timeoutMs,
      env: { ...process.env, ...options.env },
    });
    return { result: parseWorkerResult<T>(processResult, `worker ${command}`), process: processResult };
  } finally {
    if (inputFile) await rm(inputFile, { force: true });
  }
}
