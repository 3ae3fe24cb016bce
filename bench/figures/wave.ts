/**
 * Rotation wave on SES's real budget: N domains × 2 regions whose renewals all fall due in the
 * same week (every renewal moment, spread by `renewalSpreadDays` over 7 days, has passed), the
 * SES emulator held to 1 request/s per region (burst 2), verifyChecks 1, RFC 2136 publishing
 * to the embedded DNS server. Passes run back to back on a virtual clock shared with the
 * emulator (its rate bucket runs on the emulator clock): the SES budget's waits move the clock,
 * nothing else does, so the virtual time of the wave is the time the budget needed.
 *
 * What the engine must do per identity-region, at the least: read SES (a switch is due), put
 * the new key, read SES again to see SUCCESS. The budget bound is those 3 calls per
 * identity-region ÷ 1 request/s, per region (the regions' budgets run side by side). The key
 * generation and DNS passes before them cost no SES call. Keys are RSA-1024 here: key
 * generation is measured by its own figure and takes no virtual time.
 *
 * Targets: every domain switched (SES holds the new selector in every region, checked against
 * the emulator afterwards, and the key became active), no domain failed (throttling never
 * fails a domain), throttled ≤ 1 %, virtual wall ≤ 1.15 × the budget bound.
 */
import { performance } from 'node:perf_hooks';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { generateDkimKey } from '../../src/domain/key.js';
import { DAY_MS } from '../../src/domain/policy.js';
import type { PassOutput } from '../children/worker.js';
import { type BenchContext, REGIONS } from '../lib/context.js';
import { CREDENTIALS, startFleet, throttledOf } from '../lib/fleet.js';
import { type FigureResult, fmt, type Row, verdict } from '../lib/report.js';
import { runWorker } from '../lib/worker.js';

export const WAVE_TARGET = 1.15;
export const THROTTLED_TARGET = 0.01;
const MAX_PASSES = 8;
/** read (a switch is due), put, read (SUCCESS seen). */
const CALLS_NEEDED_PER_IDENTITY_REGION = 3;
const RATE = 1;

export async function rotationWave(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const { waveDomains: domains, concurrency } = ctx.sizes;
  const identityRegions = domains * REGIONS.length;
  const callsNeededPerRegion = CALLS_NEEDED_PER_IDENTITY_REGION * domains;
  const boundMs = (callsNeededPerRegion / RATE) * 1000;
  const key = await generateDkimKey(2048);
  ctx.log(
    `rotation wave: setting up ${domains} domains × ${REGIONS.length} regions, all due within one week`,
  );
  const fleet = await startFleet({
    domains,
    regions: REGIONS,
    key,
    // Renewal due at notAfter − renewBeforeDays + a per-domain offset of up to 7 days: all past.
    activeCreatedAt: new Date(Date.now() - 350 * DAY_MS),
    dns: 'rfc2136',
    verifyChecks: 1,
    policy: 'keyBits: 1024',
    sesSeenSpreadMs: DAY_MS,
  });
  let output: PassOutput | undefined;
  let error: string | undefined;
  let switchedIdentityRegions = 0;
  let calls = 0;
  let throttled = 0;
  let byOperation: Record<string, number> = {};
  const t0 = performance.now();
  try {
    fleet.ses.setRate(RATE, { burst: 2, clock: 'emulator' });
    fleet.ses.resetCounters();
    ctx.log(
      `rotation wave: passes back to back on the virtual clock until every domain is switched (at most ${MAX_PASSES})`,
    );
    try {
      const run = await runWorker<PassOutput>(
        'pass',
        {
          configPath: fleet.configPath,
          sesEndpoint: fleet.ses.endpoint,
          concurrency,
          maxPasses: MAX_PASSES,
          untilPromoted: true,
          timeLimitMs: 900_000,
          virtual: {},
        },
        { timeoutMs: 1_000_000, env: fleet.env },
      );
      output = run.result;
    } catch (e) {
      error = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
      ctx.log(`rotation wave: failed: ${error}`);
    }
    const counters = fleet.ses.counters();
    byOperation = Object.fromEntries(Object.entries(counters).filter(([k]) => !k.includes('@')));
    calls = Object.values(byOperation).reduce((a, b) => a + b, 0);
    throttled = throttledOf(fleet.ses.rejections());
    // Ground truth, not timed: which selector SES holds now, every identity and region.
    fleet.ses.setRate(null);
    for (const region of REGIONS) {
      const client = new SESv2Client({ endpoint: fleet.ses.endpoint, region, credentials: CREDENTIALS });
      let next = 0;
      const check = async (): Promise<void> => {
        for (let i = next++; i < fleet.names.length; i = next++) {
          const out = await client.send(new GetEmailIdentityCommand({ EmailIdentity: fleet.names[i] }));
          const held = out.DkimAttributes?.Tokens?.[0];
          if (held !== undefined && held !== fleet.selector && out.DkimAttributes?.Status === 'SUCCESS')
            switchedIdentityRegions++;
        }
      };
      await Promise.all(Array.from({ length: 16 }, check));
      client.destroy();
    }
  } finally {
    await fleet.stop();
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const passes = output?.passes ?? [];
  const virtualMs = passes.reduce((sum, p) => sum + (p.virtualMs ?? 0), 0);
  const ratio = virtualMs / boundMs;
  const failed = passes.reduce((sum, p) => sum + (p.outcomes.failed ?? 0), 0);
  const promoted = passes.at(-1)?.promoted ?? 0;
  const throttledShare = calls === 0 ? 0 : throttled / calls;
  const everySwitched = switchedIdentityRegions === identityRegions && promoted === domains;
  const boundText = `bound ${fmt(boundMs / 3_600_000, 2)} h = ${CALLS_NEEDED_PER_IDENTITY_REGION} × ${domains} calls per region at ${RATE}/s`;
  const rows: Row[] = [];
  const figure = `rotation wave, ${domains.toLocaleString('en')} domains × ${REGIONS.length} due in one week, 1 request/s`;
  if (error !== undefined || passes.length === 0) {
    rows.push({
      figure,
      measured: `error: ${error ?? 'no pass ran'}`,
      baseline: boundText,
      target: `virtual wall ≤ ${WAVE_TARGET} × bound`,
      verdict: 'ERROR',
    });
  } else {
    const perPass = passes.map((p) => fmt((p.virtualMs ?? 0) / 3_600_000, 2)).join(' + ');
    rows.push({
      figure,
      measured: `virtual ${fmt(virtualMs / 3_600_000, 2)} h in ${passes.length} passes (${perPass} h); ${switchedIdentityRegions}/${identityRegions} switched, ${promoted}/${domains} promoted, ${failed} failed`,
      baseline: boundText,
      ratio,
      target: `≤ ${WAVE_TARGET}, all switched, none failed`,
      verdict: verdict(ratio <= WAVE_TARGET && everySwitched && failed === 0),
    });
    rows.push({
      figure: '  SES calls, throttled',
      measured: `${calls} calls (${Object.entries(byOperation)
        .map(([op, n]) => `${n} ${op}`)
        .join(', ')}); ${throttled} throttled (${fmt(throttledShare * 100, 2)} %)`,
      baseline: `${CALLS_NEEDED_PER_IDENTITY_REGION * identityRegions} needed`,
      ratio: throttledShare / THROTTLED_TARGET,
      target: `throttled ≤ ${THROTTLED_TARGET * 100} %`,
      verdict: verdict(throttledShare <= THROTTLED_TARGET),
    });
  }
  const notes = [
    `rotation wave: ${passes.length} passes at concurrency ${concurrency}, ${fmt(wallSeconds, 0)} s of wall time (key generation and the engine's own work take no virtual time); per pass (virtual h / wall s / generated / promoted): ${passes.map((p) => `${fmt((p.virtualMs ?? 0) / 3_600_000, 2)}/${fmt(p.ms / 1000, 0)}/${p.generated}/${p.promoted}`).join(', ')}.`,
  ];
  return {
    id: 'wave',
    title: 'rotation wave',
    rows,
    details: {
      domains,
      regions: REGIONS,
      concurrency,
      rate: RATE,
      callsNeededPerRegion,
      boundMs,
      virtualMs,
      calls,
      byOperation,
      throttled,
      switchedIdentityRegions,
      promoted,
      failed,
      passes,
    },
    notes,
    seconds: (performance.now() - started) / 1000,
  };
}
