/**
 * Steady state on SES's real budget: N domains × 2 regions, nothing due, the SES emulator held
 * to 1 request/s per region (burst 2), days simulated on a virtual clock.
 *
 * The fleet starts in its steady state: every domain's last SES read (healthy, its selector)
 * lies somewhere in the past day, so the scheduled health reads (every 24 h) fall due at
 * different moments. The worker runs a pass every `intervalHours` for `days` days on a virtual
 * clock shared with the emulator: the engine's clock and the SES budget's timer are virtual, a
 * wait for the budget moves the clock (and the emulator's, which refills its rate bucket — the
 * bucket runs on the emulator clock for this figure, not the wall clock), nothing else does.
 *
 * Measured by the emulator's own counters: SES calls per identity-region per simulated day,
 * the share of them throttled, and the engine process's peak RSS. Two variants on the same
 * fleet, one after the other: `aws.sesBatchedHealthReads: false` (one SES v2 GetEmailIdentity
 * per identity and region, due 24 h after each domain's own last read), then the default
 * (scheduled health reads batched into SES v1 GetIdentityDkimAttributes, 100 identities per
 * call, due once per UTC day so the domains in flight fill the batches).
 *
 * Bounds: a daily health read costs at most one call per identity-region per day when every
 * read is v2 (≤ 1.1 leaves room for the passes' spacing); batched, one call reads up to 100
 * identities, so ≤ 0.05 (batches of ≥ 20). Throttled ≤ 1 % (the client paces itself to the
 * budget, so throttling is the exception). Peak RSS ≤ 250 MB.
 */
import { performance } from 'node:perf_hooks';
import { generateDkimKey } from '../../src/domain/key.js';
import { DAY_MS, HOUR_MS } from '../../src/domain/policy.js';
import type { PassOutput } from '../children/worker.js';
import { type BenchContext, REGIONS } from '../lib/context.js';
import { configVariant, startFleet, throttledOf } from '../lib/fleet.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { runWorker } from '../lib/worker.js';

export const V2_CALLS_TARGET = 1.1;
export const V1_CALLS_TARGET = 0.05;
export const THROTTLED_TARGET = 0.01;
export const RSS_TARGET_MB = 250;

interface Variant {
  id: string;
  label: string;
  aws?: string;
  target: number;
}

interface VariantRun extends Variant {
  calls: number;
  byOperation: Record<string, number>;
  throttled: number;
  callsPerIdentityRegionDay: number;
  throttledShare: number;
  passes: number;
  virtualDays: number;
  outcomes: Record<string, number>;
  errors: string[];
  maxRssMb: number;
  wallSeconds: number;
  error?: string;
}

export async function steadyState(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const {
    steadyDomains: domains,
    steadyDays: days,
    steadyIntervalHours: intervalHours,
    concurrency,
  } = ctx.sizes;
  const identityRegions = domains * REGIONS.length;
  const passes = Math.round((days * 24) / intervalHours);
  // v2 first, on the fleet as set up (last reads spread over the day); then the default, on
  // the same fleet days later.
  const variants: Variant[] = [
    {
      id: 'v2',
      label: 'aws.sesBatchedHealthReads: false (daily SES v2 reads)',
      aws: 'sesBatchedHealthReads: false',
      target: V2_CALLS_TARGET,
    },
    { id: 'v1', label: 'batched SES v1 health reads (default)', target: V1_CALLS_TARGET },
  ];

  ctx.log(`steady-state: setting up ${domains} domains × ${REGIONS.length} regions`);
  const key = await generateDkimKey(2048);
  const setupStarted = performance.now();
  const fleet = await startFleet({
    domains,
    regions: REGIONS,
    key,
    activeCreatedAt: new Date(Date.now() - 10 * DAY_MS),
    dns: 'manual',
    sesSeenSpreadMs: DAY_MS,
  });
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const runs: VariantRun[] = [];
  try {
    for (const variant of variants) {
      ctx.log(
        `steady-state: ${variant.label}, ${passes} passes ${intervalHours} h apart on the virtual clock`,
      );
      fleet.ses.setRate(1, { burst: 2, clock: 'emulator' });
      fleet.ses.resetCounters();
      const t0 = performance.now();
      try {
        const configPath = variant.aws
          ? await configVariant(fleet, variant.id, variant.aws)
          : fleet.configPath;
        const { result } = await runWorker<PassOutput>(
          'pass',
          {
            configPath,
            sesEndpoint: fleet.ses.endpoint,
            concurrency,
            maxPasses: passes,
            timeLimitMs: 1_200_000,
            virtual: { intervalMs: intervalHours * HOUR_MS },
          },
          { timeoutMs: 1_500_000, env: fleet.env },
        );
        const counters = fleet.ses.counters();
        const byOperation = Object.fromEntries(Object.entries(counters).filter(([k]) => !k.includes('@')));
        const calls = Object.values(byOperation).reduce((a, b) => a + b, 0);
        const throttled = throttledOf(fleet.ses.rejections());
        const outcomes: Record<string, number> = {};
        const errors: string[] = [];
        for (const pass of result.passes) {
          for (const [k, n] of Object.entries(pass.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n;
          errors.push(...pass.errors.slice(0, 2));
        }
        const virtualDays = (result.passes.length * intervalHours) / 24;
        runs.push({
          ...variant,
          calls,
          byOperation,
          throttled,
          callsPerIdentityRegionDay: calls / identityRegions / virtualDays,
          throttledShare: calls === 0 ? 0 : throttled / calls,
          passes: result.passes.length,
          virtualDays,
          outcomes,
          errors: errors.slice(0, 5),
          maxRssMb: result.maxRssMb,
          wallSeconds: (performance.now() - t0) / 1000,
        });
      } catch (error) {
        const message =
          error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
        ctx.log(`steady-state: ${variant.label} failed: ${message}`);
        runs.push({
          ...variant,
          calls: 0,
          byOperation: {},
          throttled: 0,
          callsPerIdentityRegionDay: Number.NaN,
          throttledShare: Number.NaN,
          passes: 0,
          virtualDays: 0,
          outcomes: {},
          errors: [],
          maxRssMb: Number.NaN,
          wallSeconds: (performance.now() - t0) / 1000,
          error: message,
        });
      }
    }
  } finally {
    await fleet.stop();
  }

  const size = `${domains.toLocaleString('en')} domains × ${REGIONS.length}`;
  const rows: Row[] = [];
  for (const [index, run] of runs.entries()) {
    const head = index === 0 ? `steady state, ${size}, nothing due, ${days} days: ` : '  ';
    if (run.error !== undefined) {
      rows.push({
        figure: `${head}${run.label}`,
        measured: `error: ${run.error}`,
        baseline: '—',
        target: `≤ ${run.target}`,
        verdict: 'ERROR',
      });
      continue;
    }
    const allOk = Object.keys(run.outcomes).every((k) => k === 'ok');
    const ops = Object.entries(run.byOperation)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ');
    rows.push({
      figure: `${head}${run.label}`,
      measured: `${fmt(run.callsPerIdentityRegionDay, 4)} SES calls per identity-region per day (${ops || 'no call'}; ${run.passes} passes)${allOk ? '' : ` ${JSON.stringify(run.outcomes)}`}`,
      baseline: `${identityRegions} identity-regions × ${fmt(run.virtualDays, 1)} days`,
      ratio: run.callsPerIdentityRegionDay / run.target,
      target: `≤ ${run.target} (ratio ≤ 1)`,
      verdict: verdict(run.callsPerIdentityRegionDay <= run.target && allOk),
    });
    rows.push({
      figure: '    throttled SES calls',
      measured: `${run.throttled} of ${run.calls} (${fmt(run.throttledShare * 100, 2)} %)`,
      baseline: 'emulator rejections',
      ratio: run.throttledShare / THROTTLED_TARGET,
      target: `≤ ${THROTTLED_TARGET * 100} %`,
      verdict: verdict(run.throttledShare <= THROTTLED_TARGET),
    });
    rows.push({
      figure: '    peak RSS of the engine process',
      measured: `${fmt(run.maxRssMb, 0)} MB`,
      baseline: '—',
      ratio: run.maxRssMb / RSS_TARGET_MB,
      target: `≤ ${RSS_TARGET_MB} MB`,
      verdict: verdict(run.maxRssMb <= RSS_TARGET_MB),
    });
  }
  const notes = [
    `steady-state: set-up ${fmt(setupSeconds, 1)} s (not measured); ${passes} passes ${intervalHours} h apart at concurrency ${concurrency}; wall time per variant ${runs.map((r) => `${r.id} ${fmt(r.wallSeconds, 0)} s`).join(', ')}. The emulator's rate bucket runs on the emulator clock, which only the SES budget's waits move.`,
  ];
  return {
    id: 'steady',
    title: 'steady state',
    rows,
    details: { domains, regions: REGIONS, days, intervalHours, passes, concurrency, setupSeconds, runs },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}
