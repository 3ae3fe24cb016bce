/**
 * `npm run bench`: every figure of docs/performance.md, each as a ratio to a baseline
 * measured in this same run. Prints a table and writes bench/results/latest.json.
 *
 *   BENCH_QUICK=1       reduced sizes, a smoke check (ratios not comparable with a full run);
 *                       writes bench/results/quick.json
 *   BENCH_ONLY=a,b      only these figures: keygen, bundle, cold-init, cli, probe, steady, wave, emulator;
 *                       writes bench/results/partial.json
 *
 * Every process the bench starts (workers, openssl, dnsperf, dig, BIND) is stopped when it
 * ends, fails or is interrupted; every load loop is bounded in count and in time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliStart } from './figures/cli.js';
import { emulatorThroughput } from './figures/emulator.js';
import { keyGeneration } from './figures/keygen.js';
import { lambdaBundle, lambdaColdInit } from './figures/lambda.js';
import { dnsProbe } from './figures/probe.js';
import { steadyState } from './figures/steady.js';
import { rotationWave } from './figures/wave.js';
import { type BenchContext, FULL, QUICK } from './lib/context.js';
import { machineInfo } from './lib/machine.js';
import { killAll } from './lib/proc.js';
import { type FigureResult, renderTable } from './lib/report.js';
import { ROOT } from './lib/worker.js';

const FIGURES = ['keygen', 'bundle', 'cold-init', 'cli', 'probe', 'steady', 'wave', 'emulator'] as const;
type FigureId = (typeof FIGURES)[number];

async function main(): Promise<number> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const quick = process.env.BENCH_QUICK === '1';
  const only = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((id) => !(FIGURES as readonly string[]).includes(id));
  if (unknown.length > 0) {
    console.error(`BENCH_ONLY: unknown figure(s) ${unknown.join(', ')}; known: ${FIGURES.join(', ')}`);
    return 2;
  }
  const wanted = (id: FigureId): boolean => only.length === 0 || only.includes(id);
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)}s`;
  const ctx: BenchContext = {
    quick,
    sizes: quick ? QUICK : FULL,
    log: (message) => console.error(`[bench ${elapsed()}] ${message}`),
  };
  const machine = await machineInfo();
  ctx.log(
    `${quick ? 'QUICK run (reduced sizes)' : 'full run'} on ${machine.cpuModel}, ${machine.cores} cores, load ${machine.loadAverage.join(' ')}`,
  );

  const results: FigureResult[] = [];
  const attempt = async (id: FigureId, title: string, figure: () => Promise<FigureResult>): Promise<void> => {
    if (!wanted(id)) return;
    const t0 = performance.now();
    try {
      const result = await figure();
      results.push(result);
      ctx.log(`${title}: done in ${result.seconds.toFixed(0)} s`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log(`${title}: FAILED: ${message}`);
      results.push({
        id,
        title,
        rows: [
          {
            figure: title,
            measured: `error: ${message.split('\n')[0]}`,
            baseline: '—',
            target: '—',
            verdict: 'ERROR',
          },
        ],
        details: { error: message },
        notes: [],
        seconds: (performance.now() - t0) / 1000,
      });
    } finally {
      killAll('SIGKILL');
    }
  };

  await attempt('keygen', 'key generation', () => keyGeneration(ctx));
  let bundleBuilt = false;
  await attempt('bundle', 'Lambda bundle', async () => {
    const result = await lambdaBundle(ctx);
    bundleBuilt = result.built;
    return result;
  });
  if (wanted('cold-init') && !wanted('bundle')) {
    // cold-init alone still needs the bundle: build it without reporting the row.
    bundleBuilt = (await lambdaBundle(ctx)).built;
  }
  await attempt('cold-init', 'Lambda cold init', () => lambdaColdInit(ctx, bundleBuilt));
  await attempt('cli', 'CLI start', () => cliStart(ctx));
  await attempt('probe', 'DNS probe', () => dnsProbe(ctx));
  await attempt('steady', 'steady-state pass', () => steadyState(ctx));
  await attempt('wave', 'rotation wave', () => rotationWave(ctx));
  await attempt('emulator', 'SES emulator throughput', () => emulatorThroughput(ctx));

  const totalSeconds = (performance.now() - started) / 1000;
  const rows = results.flatMap((r) => r.rows);
  const table = renderTable(rows);
  console.log('');
  console.log(table);
  console.log('');
  for (const note of results.flatMap((r) => r.notes)) console.log(`- ${note}`);
  console.log(
    `\n${quick ? 'QUICK run: sizes reduced, ratios are a smoke check only. ' : ''}Total ${totalSeconds.toFixed(0)} s on ${machine.cpuModel} (${machine.cores} cores), node ${machine.node}, commit ${machine.gitCommit?.slice(0, 10) ?? '?'}${machine.gitDirtyFiles ? ` + ${machine.gitDirtyFiles} uncommitted files` : ''}.`,
  );

  const endMachine = await machineInfo();
  const report = {
    startedAt,
    totalSeconds,
    quick,
    sizes: ctx.sizes,
    machine: { ...machine, loadAverageAtEnd: endMachine.loadAverage },
    rows,
    table,
    figures: Object.fromEntries(
      results.map((r) => [r.id, { title: r.title, seconds: r.seconds, notes: r.notes, ...r.details }]),
    ),
  };
  const dir = join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  // Only a full run of every figure is "latest"; smoke and partial runs go beside it.
  const file = join(dir, quick ? 'quick.json' : only.length > 0 ? 'partial.json' : 'latest.json');
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Wrote ${file}`);
  return rows.some((r) => r.verdict === 'ERROR') ? 1 : 0;
}

main().then(
  (code) => {
    killAll('SIGKILL');
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    killAll('SIGKILL');
    process.exit(1);
  },
);
