/**
 * Steady-state pass: N domains × 2 regions, nothing due, the SES emulator limited to R
 * requests/s per region. A pass must read each identity once per region (N × 2 reads), so
 * it cannot finish faster than the rate-limit bound N × 2 / (R × 2) seconds (10 s at
 * 2,000 domains and 200/s). The emulator's bucket starts full (one second of requests), so
 * a client that paces itself perfectly finishes in bound − 1 s.
 *
 * The engine runs in a worker process (apart from the emulators, which stay here): one
 * fresh process per pass, as a CLI run or a cold Lambda would be. Variants:
 *
 * - the headline: concurrency 16 (the CLI's and the Lambda's default), default config (no
 *   client-side pacing: throttling is left to the SDK's adaptive retry);
 * - the same with `aws.sesRequestsPerSecond: R` (SES calls paced per region in the adapter);
 *   both run `repeats` times, alternating, and the median pass is reported;
 * - once each: other concurrency settings, the SDK's `standard` retry mode instead of
 *   `adaptive`, and the emulator with no rate limit (what the engine alone costs here).
 */
import { performance } from 'node:perf_hooks';
import { generateDkimKey } from '../../src/domain/key.js';
import { DAY_MS } from '../../src/domain/policy.js';
import type { PassOutput } from '../children/worker.js';
import { type BenchContext, REGIONS } from '../lib/context.js';
import { configVariant, startFleet } from '../lib/fleet.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { runWorker } from '../lib/worker.js';

export const WALL_TARGET = 1.15;
export const RSS_TARGET_MB = 250;

interface Variant {
  id: string;
  label: string;
  concurrency: number;
  repeats: number;
  /** Extra `aws` settings for this variant's config, e.g. `sesRequestsPerSecond: 200`. */
  aws?: string;
  sesRetryMode?: 'standard' | 'adaptive';
  /** The emulator's rate limit off: the engine's own speed on this machine. */
  unlimited?: boolean;
}

interface SteadyRun {
  passMs: number;
  ratio: number;
  cpuMs: number;
  processMs: number;
  setupMs: number;
  reads: number;
  otherSesCalls: number;
  throttled: number;
  callsPerIdentityRegion: number;
  acceptedPerIdentityRegion: number;
  outcomes: Record<string, number>;
  errors: string[];
  maxRssMb: number;
}

interface VariantResult extends Variant {
  runs: SteadyRun[];
  failures: string[];
  /** The run with the median pass time. */
  median?: SteadyRun;
  maxRssMb?: number;
}

const allOk = (run: SteadyRun | undefined): boolean =>
  run !== undefined && Object.keys(run.outcomes).every((k) => k === 'ok');

function medianRun(runs: readonly SteadyRun[]): SteadyRun | undefined {
  if (runs.length === 0) return undefined;
  const m = median(runs.map((r) => r.passMs));
  return [...runs].sort((a, b) => Math.abs(a.passMs - m) - Math.abs(b.passMs - m))[0];
}

export async function steadyState(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const { steadyDomains: domains, steadyConcurrency, sesRate } = ctx.sizes;
  const identityRegions = domains * REGIONS.length;
  const boundMs = (identityRegions / (sesRate * REGIONS.length)) * 1000;
  const headlineConcurrency = steadyConcurrency[0] ?? 16;
  const repeats = ctx.quick ? 1 : 3;
  const variants: VariantResult[] = [
    { id: 'default', label: `concurrency ${headlineConcurrency}`, concurrency: headlineConcurrency, repeats },
    {
      id: 'paced',
      label: `concurrency ${headlineConcurrency}, aws.sesRequestsPerSecond: ${sesRate}`,
      concurrency: headlineConcurrency,
      repeats,
      aws: `sesRequestsPerSecond: ${sesRate}`,
    },
    ...steadyConcurrency.slice(1).map((concurrency) => ({
      id: `c${concurrency}`,
      label: `concurrency ${concurrency}`,
      concurrency,
      repeats: 1,
    })),
    {
      id: 'standard-retry',
      label: `concurrency ${headlineConcurrency}, SDK retryMode standard (what-if)`,
      concurrency: headlineConcurrency,
      repeats: 1,
      sesRetryMode: 'standard' as const,
    },
    {
      id: 'unlimited',
      label: `concurrency ${headlineConcurrency}, no rate limit (engine alone)`,
      concurrency: headlineConcurrency,
      repeats: 1,
      unlimited: true,
    },
  ].map((v) => ({ ...v, runs: [], failures: [] }));

  // The repeated variants alternate (headline, paced, headline, paced, …); the others follow once.
  const order: VariantResult[] = [];
  for (let r = 0; r < repeats; r++) order.push(...variants.filter((v) => v.repeats > 1 && v.repeats > r));
  order.push(...variants.filter((v) => v.repeats <= 1));

  ctx.log(`steady-state: setting up ${domains} domains × ${REGIONS.length} regions`);
  const key = await generateDkimKey(2048);
  const setupStarted = performance.now();
  const fleet = await startFleet({
    domains,
    regions: REGIONS,
    key,
    activeCreatedAt: new Date(Date.now() - 10 * DAY_MS),
    dns: 'manual',
  });
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  try {
    for (const variant of order) {
      ctx.log(`steady-state: pass with ${variant.label}`);
      fleet.ses.setRate(variant.unlimited ? undefined : sesRate);
      fleet.ses.resetCounters();
      try {
        const configPath = variant.aws
          ? await configVariant(fleet, variant.id, variant.aws)
          : fleet.configPath;
        const { result, process } = await runWorker<PassOutput>(
          'pass',
          {
            configPath,
            sesEndpoint: fleet.ses.endpoint,
            concurrency: variant.concurrency,
            maxPasses: 1,
            timeLimitMs: 60_000,
            ...(variant.sesRetryMode ? { sesRetryMode: variant.sesRetryMode } : {}),
          },
          { timeoutMs: Math.max(90_000, boundMs * 8), env: fleet.env },
        );
        const pass = result.passes[0];
        if (!pass) throw new Error('the worker ran no pass');
        const counters = fleet.ses.counters();
        const reads = counters.GetEmailIdentity ?? 0;
        const total = Object.entries(counters)
          .filter(([k]) => !k.includes('@'))
          .reduce((sum, [, n]) => sum + n, 0);
        const throttled = Object.entries(fleet.ses.rejections())
          .filter(([k]) => k.startsWith('throttled@'))
          .reduce((sum, [, n]) => sum + n, 0);
        variant.runs.push({
          passMs: pass.ms,
          ratio: pass.ms / boundMs,
          cpuMs: pass.cpuMs,
          processMs: process.wallMs,
          setupMs: result.setupMs,
          reads,
          otherSesCalls: total - reads,
          throttled,
          callsPerIdentityRegion: total / identityRegions,
          acceptedPerIdentityRegion: (total - throttled) / identityRegions,
          outcomes: pass.outcomes,
          errors: pass.errors,
          maxRssMb: result.maxRssMb,
        });
      } catch (error) {
        const message =
          error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
        variant.failures.push(message);
        ctx.log(`steady-state: ${variant.label} failed: ${message}`);
      }
    }
  } finally {
    await fleet.stop();
  }
  for (const v of variants) {
    const m = medianRun(v.runs);
    if (m) v.median = m;
    if (v.runs.length > 0) v.maxRssMb = Math.max(...v.runs.map((r) => r.maxRssMb));
  }

  const size = `${domains.toLocaleString('en')} domains × ${REGIONS.length}`;
  const boundText = `bound ${fmt(boundMs / 1000, 1)} s (${identityRegions} reads at ${sesRate * REGIONS.length}/s)`;
  const rows: Row[] = [];
  const headline = variants[0] as VariantResult;
  const h = headline.median;
  const of = (v: VariantResult): string => {
    if (v.repeats <= 1) return '';
    const times = v.runs.map((r) => r.passMs / 1000);
    return `, median of ${v.runs.length} (${fmt(Math.min(...times), 1)}–${fmt(Math.max(...times), 1)})`;
  };
  if (h === undefined) {
    rows.push({
      figure: `steady-state pass, ${size}`,
      measured: `error: ${headline.failures[0] ?? 'no run'}`,
      baseline: boundText,
      target: `wall ≤ ${WALL_TARGET} × bound`,
      verdict: 'ERROR',
    });
  } else {
    const notOk = Object.entries(h.outcomes)
      .filter(([k]) => k !== 'ok')
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    rows.push({
      figure: `steady-state pass, ${size}, concurrency ${headline.concurrency}`,
      measured: `${fmt(h.passMs / 1000, 1)} s${of(headline)}${notOk ? ` (${notOk})` : ''}`,
      baseline: boundText,
      ratio: h.ratio,
      target: `wall ≤ ${WALL_TARGET}`,
      verdict: verdict(h.ratio <= WALL_TARGET && allOk(h)),
    });
    const calls = headline.runs.map((r) => r.callsPerIdentityRegion);
    rows.push({
      figure: '  SES calls per identity-region',
      measured: `${fmt(h.callsPerIdentityRegion, 3)} (${h.throttled} got 429; range ${fmt(Math.min(...calls), 3)}–${fmt(Math.max(...calls), 3)})`,
      baseline: `${identityRegions} identity-regions`,
      ratio: h.callsPerIdentityRegion,
      target: '= 1.00',
      verdict: verdict(Math.max(...calls) < 1.005 && allOk(h)),
    });
    rows.push({
      figure: '  peak RSS of the engine process',
      measured: `${fmt(headline.maxRssMb, 0)} MB (max of ${headline.runs.length})`,
      baseline: '—',
      target: `≤ ${RSS_TARGET_MB} MB`,
      verdict: verdict((headline.maxRssMb ?? Number.POSITIVE_INFINITY) <= RSS_TARGET_MB),
    });
  }
  for (const v of variants.slice(1)) {
    const m = v.median;
    rows.push({
      figure: `  ${v.label}`,
      measured:
        m === undefined
          ? `error: ${v.failures[0] ?? 'no run'}`
          : `${fmt(m.passMs / 1000, 1)} s${of(v)}, ${fmt(m.callsPerIdentityRegion, 3)} calls/id-region, ${fmt(v.maxRssMb, 0)} MB${allOk(m) ? '' : ` ${JSON.stringify(m.outcomes)}`}`,
      baseline: v.unlimited ? 'same bound (limit off)' : 'same bound',
      ...(m === undefined ? {} : { ratio: m.ratio }),
      target: `wall ≤ ${WALL_TARGET} (info)`,
      verdict: 'info',
    });
  }
  const unlimited = variants.find((v) => v.unlimited)?.median;
  const notes = [
    `steady-state: set-up ${fmt(setupSeconds, 1)} s (not measured). Engine CPU in the headline pass: ${fmt((h?.cpuMs ?? Number.NaN) / 1000, 1)} s for ${domains} domains (${fmt((h?.cpuMs ?? Number.NaN) / domains, 2)} ms/domain); with no rate limit the pass takes ${fmt((unlimited?.passMs ?? Number.NaN) / 1000, 1)} s.`,
  ];
  return {
    id: 'steady',
    title: 'steady-state pass',
    rows,
    details: { domains, regions: REGIONS, sesRatePerRegion: sesRate, boundMs, setupSeconds, variants },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}
