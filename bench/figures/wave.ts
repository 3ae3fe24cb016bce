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
 */
import { performance } from 'node:perf_hooks';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { generateDkimKey } from '../../src/domain/key.js';
import { DAY_MS } from '../../src/domain/policy.js';
import type { PassOutput } from '../children/worker.js';
import { type BenchContext, REGIONS } from '../lib/context.js';
import { CREDENTIALS, startFleet } from '../lib/fleet.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { runWorker } from '../lib/worker.js';
import { opensslKeygen } from './keygen.js';

export const WAVE_TARGET = 1.3;
const MAX_PASSES = 5;

export async function rotationWave(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const { waveDomains: domains, sesRate } = ctx.sizes;
  const concurrency = ctx.sizes.steadyConcurrency[0] ?? 16;
  const title = `rotation wave, ${domains} domains × ${REGIONS.length} due at once`;
  const sesRequestsPerRegion = 3 * domains;
  const sesBoundMs = (sesRequestsPerRegion / sesRate) * 1000;
  const bracketKeys = Math.max(10, Math.min(40, Math.round(domains / 12)));
  let bracketMs = 0;

  ctx.log(`rotation wave: setting up ${domains} domains × ${REGIONS.length} regions, all due`);
  const key = await generateDkimKey(2048);
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
    ctx.log(`rotation wave: openssl baseline, ${bracketKeys} keys before the wave`);
    bracketMs += await opensslKeygen(bracketKeys);
    fleet.ses.setRate(sesRate);
    fleet.ses.resetCounters();
    ctx.log(`rotation wave: passes until every domain is switched (at most ${MAX_PASSES})`);
    try {
      const run = await runWorker<PassOutput>(
        'pass',
        {
          configPath: fleet.configPath,
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
      ctx.log(`rotation wave: failed: ${error}`);
    }
    ctx.log(`rotation wave: openssl baseline, ${bracketKeys} keys after the wave`);
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

  const opensslRate = (2 * bracketKeys) / (bracketMs / 1000);
  const keygenBoundMs = (domains / opensslRate) * 1000;
  const boundMs = keygenBoundMs + sesBoundMs;
  const passes = output?.passes ?? [];
  const wallMs = passes.reduce((sum, p) => sum + p.ms, 0);
  const allSwitched = switchedIdentityRegions === domains * REGIONS.length;
  const boundText = `bound ${fmt(boundMs / 1000, 1)} s = ${domains} keys at openssl ${fmt(opensslRate, 1)}/s + SES ${fmt(sesBoundMs / 1000, 1)} s`;
  const rows: Row[] = [];
  if (error !== undefined || passes.length === 0) {
    rows.push({
      figure: title,
      measured: `error: ${error ?? 'no pass ran'}`,
      baseline: boundText,
      target: `wall ≤ ${WAVE_TARGET} × bound`,
      verdict: 'ERROR',
    });
  } else {
    const ratio = wallMs / boundMs;
    const perPass = passes.map((p) => `${fmt(p.ms / 1000, 1)}`).join(' + ');
    rows.push({
      figure: `${title}, concurrency ${concurrency}`,
      measured: `${fmt(wallMs / 1000, 1)} s in ${passes.length} passes (${perPass}); ${switchedIdentityRegions}/${domains * REGIONS.length} switched`,
      baseline: boundText,
      ratio,
      target: `≤ ${WAVE_TARGET}`,
      verdict: verdict(ratio <= WAVE_TARGET && allSwitched),
    });
  }
  const keygenPass = passes[0];
  const switchPass = passes[1];
  const notes: string[] = [];
  if (switchPass) {
    const requests = Object.values(switchPass.requests).reduce((a, b) => a + b, 0);
    const perRegionRate = requests / REGIONS.length / (switchPass.ms / 1000);
    notes.push(
      `rotation wave: pass 2 made ${requests} SES requests (${switchPass.throttled} got 429) in ${fmt(switchPass.ms / 1000, 1)} s = ${fmt(perRegionRate, 0)} req/s per region against a limit of ${sesRate}; its share of the bound is ${fmt(requests / REGIONS.length / sesRate, 1)} s.`,
    );
  }
  if (keygenPass) {
    notes.push(
      `rotation wave: pass 1 generated ${keygenPass.generated} keys in ${fmt(keygenPass.ms / 1000, 1)} s (openssl rate would take ${fmt(keygenBoundMs / 1000, 1)} s); ${throttled} SES requests throttled over the wave.`,
    );
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
      opensslKeysPerSecond: opensslRate,
      opensslBracketKeys: 2 * bracketKeys,
      opensslKeysPerSecondInKeygenFigure: ctx.opensslKeysPerSecond,
      keygenBoundMs,
      sesRequestsPerRegion,
      sesBoundMs,
      boundMs,
      wallMs,
      processMs,
      switchedIdentityRegions,
      throttled,
      passes,
      maxRssMb: output?.maxRssMb,
      error,
    },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}
