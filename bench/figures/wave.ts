/**
 * Rotation wave: N domains (× 2 regions) all due for renewal at once, verifyChecks 1,
 * RFC 2136 publishing to the embedded DNS server, the SES emulator limited to R req/s per
 * region. What the engine must do, pass by pass:
 *
 *   pass 1  per domain: 2 SES reads, probe the active record, generate an RSA-2048 key, store
 *           it, publish its record (one UPDATE), save state. SES cannot be switched yet: the
 *           new record was not in this pass's observation.
 *   pass 2  per domain: 2 SES reads, probe both records; the new one is served by every
 *           nameserver (1/1 checks) → verified → PutEmailIdentityDkimSigningAttributes in
 *           both regions, in this same pass.
 *
 * "Switched" = SES in every region signs with the new selector (checked afterwards against
 * the emulator). The bound is what cannot be avoided: N keys at the rate openssl reaches
 * (measured right before and right after the wave, so that the machine's load at the time
 * is in both), plus the SES requests of both passes at the rate limit (pass 1: N reads per
 * region; pass 2: N reads + N puts per region → 3N / R seconds). Pass 1's reads could
 * overlap key generation, so a perfect engine can come in under it.
 *
 * Two waves on fresh fleets: the default config (the headline), then with
 * `aws.sesRequestsPerSecond: R` (SES calls paced per region).
 */
import { performance } from 'node:perf_hooks';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { type DkimPrivateKey, generateDkimKey } from '../../src/domain/key.js';
import { DAY_MS } from '../../src/domain/policy.js';
import type { PassOutput } from '../children/worker.js';
import { type BenchContext, REGIONS } from '../lib/context.js';
import { CREDENTIALS, configVariant, startFleet } from '../lib/fleet.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { runWorker } from '../lib/worker.js';
import { opensslKeygen } from './keygen.js';

export const WAVE_TARGET = 1.3;
const MAX_PASSES = 5;

interface WaveRun {
  label: string;
  aws?: string;
  opensslKeysPerSecond: number;
  keygenBoundMs: number;
  boundMs: number;
  wallMs: number;
  ratio: number;
  processMs?: number;
  switchedIdentityRegions: number;
  throttled: number;
  passes: PassOutput['passes'];
  maxRssMb?: number;
  error?: string;
}

async function runWave(
  ctx: BenchContext,
  key: DkimPrivateKey,
  variant: { label: string; aws?: string },
): Promise<WaveRun> {
  const { waveDomains: domains, sesRate } = ctx.sizes;
  const concurrency = ctx.sizes.steadyConcurrency[0] ?? 16;
  const sesBoundMs = ((3 * domains) / sesRate) * 1000;
  const bracketKeys = Math.max(10, Math.min(40, Math.round(domains / 12)));
  let bracketMs = 0;
  ctx.log(
    `rotation wave (${variant.label}): setting up ${domains} domains × ${REGIONS.length} regions, all due`,
  );
  const fleet = await startFleet({
    domains,
    regions: REGIONS,
    key,
    activeCreatedAt: new Date(Date.now() - 350 * DAY_MS),
    dns: 'rfc2136',
    verifyChecks: 1,
  });
  let output: PassOutput | undefined;
  let error: string | undefined;
  let processMs: number | undefined;
  let switchedIdentityRegions = 0;
  let throttled = 0;
  try {
    const configPath = variant.aws ? await configVariant(fleet, 'wave', variant.aws) : fleet.configPath;
    ctx.log(`rotation wave (${variant.label}): openssl baseline, ${bracketKeys} keys before`);
    bracketMs += await opensslKeygen(bracketKeys);
    fleet.ses.setRate(sesRate);
    fleet.ses.resetCounters();
    ctx.log(
      `rotation wave (${variant.label}): passes until every domain is switched (at most ${MAX_PASSES})`,
    );
    try {
      const run = await runWorker<PassOutput>(
        'pass',
        {
          configPath,
          sesEndpoint: fleet.ses.endpoint,
          concurrency,
          maxPasses: MAX_PASSES,
          untilSwitched: true,
          timeLimitMs: 240_000,
        },
        { timeoutMs: 300_000, env: fleet.env },
      );
      output = run.result;
      processMs = run.process.wallMs;
    } catch (e) {
      error = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
      ctx.log(`rotation wave (${variant.label}): failed: ${error}`);
    }
    ctx.log(`rotation wave (${variant.label}): openssl baseline, ${bracketKeys} keys after`);
    bracketMs += await opensslKeygen(bracketKeys);
    throttled = Object.entries(fleet.ses.rejections())
      .filter(([k]) => k.startsWith('throttled@'))
      .reduce((sum, [, n]) => sum + n, 0);
    // Ground truth, not timed: which selector SES holds now, every identity and region.
    fleet.ses.setRate(undefined);
    for (const region of REGIONS) {
      const client = new SESv2Client({ endpoint: fleet.ses.endpoint, region, credentials: CREDENTIALS });
      let next = 0;
      const check = async (): Promise<void> => {
        for (let i = next++; i < fleet.names.length; i = next++) {
          const out = await client.send(new GetEmailIdentityCommand({ EmailIdentity: fleet.names[i] }));
          const held = out.DkimAttributes?.Tokens?.[0];
          if (held !== undefined && held !== fleet.selector) switchedIdentityRegions++;
        }
      };
      await Promise.all(Array.from({ length: 16 }, check));
      client.destroy();
    }
  } finally {
    await fleet.stop();
  }
  const opensslKeysPerSecond = (2 * bracketKeys) / (bracketMs / 1000);
  const keygenBoundMs = (domains / opensslKeysPerSecond) * 1000;
  const boundMs = keygenBoundMs + sesBoundMs;
  const passes = output?.passes ?? [];
  const wallMs = passes.reduce((sum, p) => sum + p.ms, 0);
  return {
    ...variant,
    opensslKeysPerSecond,
    keygenBoundMs,
    boundMs,
    wallMs,
    ratio: wallMs / boundMs,
    ...(processMs === undefined ? {} : { processMs }),
    switchedIdentityRegions,
    throttled,
    passes,
    ...(output ? { maxRssMb: output.maxRssMb } : {}),
    ...(error === undefined ? {} : { error }),
  };
}

export async function rotationWave(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const { waveDomains: domains, sesRate } = ctx.sizes;
  const concurrency = ctx.sizes.steadyConcurrency[0] ?? 16;
  const identityRegions = domains * REGIONS.length;
  const sesBoundMs = ((3 * domains) / sesRate) * 1000;
  const key = await generateDkimKey(2048);
  const runs = [
    await runWave(ctx, key, { label: 'default config' }),
    await runWave(ctx, key, {
      label: `aws.sesRequestsPerSecond: ${sesRate}`,
      aws: `sesRequestsPerSecond: ${sesRate}`,
    }),
  ];

  const rows: Row[] = runs.map((run, index) => {
    const boundText = `bound ${fmt(run.boundMs / 1000, 1)} s = ${domains} keys at openssl ${fmt(run.opensslKeysPerSecond, 1)}/s + SES ${fmt(sesBoundMs / 1000, 1)} s`;
    const figure =
      index === 0
        ? `rotation wave, ${domains} domains × ${REGIONS.length} due at once, concurrency ${concurrency}`
        : `  rotation wave, ${run.label}`;
    if (run.error !== undefined || run.passes.length === 0) {
      return {
        figure,
        measured: `error: ${run.error ?? 'no pass ran'}`,
        baseline: boundText,
        target: `wall ≤ ${WAVE_TARGET} × bound`,
        verdict: index === 0 ? 'ERROR' : 'info',
      };
    }
    const perPass = run.passes.map((p) => fmt(p.ms / 1000, 1)).join(' + ');
    return {
      figure,
      measured: `${fmt(run.wallMs / 1000, 1)} s in ${run.passes.length} passes (${perPass}); ${run.switchedIdentityRegions}/${identityRegions} switched`,
      baseline: boundText,
      ratio: run.ratio,
      target: index === 0 ? `≤ ${WAVE_TARGET}` : `≤ ${WAVE_TARGET} (info)`,
      verdict:
        index === 0
          ? verdict(run.ratio <= WAVE_TARGET && run.switchedIdentityRegions === identityRegions)
          : 'info',
    };
  });
  const notes: string[] = [];
  for (const run of runs) {
    const [keygenPass, switchPass] = run.passes;
    if (keygenPass && switchPass) {
      const requests = Object.values(switchPass.requests).reduce((a, b) => a + b, 0);
      const perRegionRate = requests / REGIONS.length / (switchPass.ms / 1000);
      notes.push(
        `rotation wave, ${run.label}: pass 1 generated ${keygenPass.generated} keys in ${fmt(keygenPass.ms / 1000, 1)} s (openssl would take ${fmt(run.keygenBoundMs / 1000, 1)} s); pass 2 made ${requests} SES requests (${switchPass.throttled} got 429) in ${fmt(switchPass.ms / 1000, 1)} s = ${fmt(perRegionRate, 0)} req/s per region against a limit of ${sesRate} (its share of the bound: ${fmt(requests / REGIONS.length / sesRate, 1)} s).`,
      );
    }
  }
  return {
    id: 'wave',
    title: 'rotation wave',
    rows,
    details: {
      domains,
      regions: REGIONS,
      concurrency,
      sesRatePerRegion: sesRate,
      verifyChecks: 1,
      sesRequestsPerRegion: 3 * domains,
      sesBoundMs,
      opensslKeysPerSecondInKeygenFigure: ctx.opensslKeysPerSecond,
      runs,
    },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}
