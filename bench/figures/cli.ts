/**
 * CLI start: `node dist/src/cli/main.js --help` in fresh processes against `node -e 0`,
 * interleaved. dist/ is rebuilt first (`npm run build`) when any source file under src/ is
 * newer than its compiled file, so the figure measures the code in the tree.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchContext } from '../lib/context.js';
import { run } from '../lib/proc.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { type StartupTiming, timeStartup } from '../lib/startup.js';
import { ROOT } from '../lib/worker.js';

export const CLI_TARGET_MS = 150;
const MAIN = join(ROOT, 'dist/src/cli/main.js');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')
        ? [path]
        : [];
    }),
  );
  return files.flat();
}

/** Source files under src/ whose compiled .js is missing or older. */
export async function staleDist(): Promise<string[]> {
  const stale: string[] = [];
  for (const source of await sourceFiles(join(ROOT, 'src'))) {
    const compiled = join(ROOT, 'dist', relative(ROOT, source).replace(/\.ts$/, '.js'));
    const [s, c] = await Promise.all([stat(source), stat(compiled).catch(() => undefined)]);
    if (c === undefined || c.mtimeMs < s.mtimeMs) stale.push(relative(ROOT, source));
  }
  return stale;
}

export async function cliStart(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const figure = 'CLI start (byodkim --help)';
  const notes: string[] = [];
  let build: { ran: boolean; ok: boolean; stale: number; seconds?: number; error?: string } = {
    ran: false,
    ok: true,
    stale: 0,
  };
  const stale = await staleDist();
  if (stale.length > 0) {
    ctx.log(`CLI start: dist is stale (${stale.length} files, e.g. ${stale[0]}): npm run build`);
    const result = await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 300_000 });
    build = {
      ran: true,
      ok: result.code === 0,
      stale: stale.length,
      seconds: result.wallMs / 1000,
      ...(result.code === 0
        ? {}
        : { error: (result.stdout + result.stderr).trim().split('\n').slice(0, 3).join(' ') }),
    };
    if (!build.ok)
      notes.push(`CLI start: npm run build failed, measured the dist/ already there: ${build.error}`);
  }
  const runs = ctx.sizes.startRuns;
  ctx.log(`CLI start: ${runs} fresh processes each, interleaved with node -e 0`);
  let timing: StartupTiming | undefined;
  let error: string | undefined;
  try {
    timing = await timeStartup(
      {
        args: [MAIN, '--help'],
        cwd: ROOT,
        check: (result) => {
          if (!/Usage/i.test(result.stdout)) throw new Error('--help printed no usage');
        },
      },
      runs,
    );
  } catch (e) {
    error = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
  }
  const rows: Row[] = [];
  if (timing === undefined) {
    rows.push({
      figure,
      measured: `error: ${error}`,
      baseline: 'node -e 0',
      target: `≤ ${CLI_TARGET_MS} ms`,
      verdict: 'ERROR',
    });
  } else {
    rows.push({
      figure,
      measured: `+${fmt(timing.overheadMs, 0)} ms (median ${fmt(timing.targetMedianMs, 0)} ms, n=${timing.runs})${build.ok ? '' : ' [stale dist]'}`,
      baseline: `node -e 0 ${fmt(timing.baselineMedianMs, 0)} ms`,
      ratio: timing.targetMedianMs / timing.baselineMedianMs,
      target: `overhead ≤ ${CLI_TARGET_MS} ms`,
      verdict: verdict(timing.overheadMs <= CLI_TARGET_MS),
    });
  }
  return {
    id: 'cli-start',
    title: 'CLI start',
    rows,
    details: { timing, build, error },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}
