import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimRecordName } from '../../src/domain/record.js';
import { E2eWorld } from '../support/e2e-world.js';

/**
 * Issue 16's acceptance, end to end: the real CLI against the SES emulator held to SES's
 * documented budget (1 request/s per account and region, burst 2), hourly `apply` passes on
 * the virtual clock. Counts only (the emulator's request counters and rejections): no time
 * or rate is asserted.
 */
const HOUR = 3_600_000;
const DOMAINS = Array.from({ length: 12 }, (_, i) => `d${String(i + 1).padStart(2, '0')}.example`);
const REGIONS = ['us-east-1', 'eu-west-1'];
const IDENTITY_REGIONS = DOMAINS.length * REGIONS.length;

function sum(counts: Record<string, number>, keep: (key: string) => boolean): number {
  return Object.entries(counts)
    .filter(([k]) => keep(k))
    .reduce((total, [, n]) => total + n, 0);
}

describe('a fleet within SES’s real API budget (12 domains × 2 regions, 1 request/s per region)', () => {
  let world: E2eWorld;
  const exits: number[] = [];
  let onboardingPasses = 0;

  const calls = (): number => sum(world.ses.counters(), (k) => !k.includes('@'));
  const throttled = (): number => sum(world.ses.rejections(), (k) => k.startsWith('throttled@'));

  async function hourlyPass(): Promise<number> {
    const run = await world.cli('apply');
    exits.push(run.code);
    world.clock.advance(HOUR);
    return run.code;
  }

  beforeAll(async () => {
    world = await E2eWorld.start({ domains: DOMAINS, regions: REGIONS, ses: { ratePerRegion: 1 } });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('onboards every domain with hourly passes, no pass exiting 1', async () => {
    for (let pass = 0; pass < 8; pass++) {
      onboardingPasses++;
      const code = await hourlyPass();
      expect([0, 3], `pass ${pass + 1} exit code`).toContain(code);
      if (code === 0) break;
    }
    const rows = JSON.parse((await world.cli('status', '--output', 'json')).stdout) as Array<{
      domain: string;
      active?: string;
    }>;
    expect(rows.filter((r) => r.active === undefined).map((r) => r.domain)).toEqual([]);
    expect(exits).not.toContain(1);
    for (const domain of DOMAINS.slice(0, 2)) {
      for (const [region, verdict] of Object.entries(await world.samples(domain)))
        expect(verdict.pass, `${domain} ${region}`).toBe(true);
    }
    expect(throttled() / calls()).toBeLessThanOrEqual(0.05);
    console.log(
      `onboarding: ${onboardingPasses} passes, exits ${exits.join(' ')}, ${calls()} SES calls, ${throttled()} throttled`,
    );
  }, 600_000);

  it('then costs at most 0.10 SES calls per identity-region per idle pass over a day, ≤ 5 % throttled', async () => {
    world.ses.resetCounters();
    const passes = 25; // a day and an hour: every domain's scheduled health read falls inside
    for (let pass = 0; pass < passes; pass++) expect(await hourlyPass(), `idle pass ${pass + 1}`).toBe(0);
    const perIdentityRegionPerPass = calls() / IDENTITY_REGIONS / passes;
    expect(perIdentityRegionPerPass).toBeLessThanOrEqual(0.1);
    expect(throttled()).toBeLessThanOrEqual(0.05 * calls());
    // The day's health reads happened, batched: SES v1, not one v2 read per identity and region.
    expect(world.ses.counters().GetIdentityDkimAttributes ?? 0).toBeGreaterThanOrEqual(REGIONS.length);
    expect(world.ses.counters().GetEmailIdentity ?? 0).toBe(0);
    console.log(
      `idle: ${passes} passes, ${calls()} SES calls (${perIdentityRegionPerPass.toFixed(4)} per identity-region per pass), ${throttled()} throttled`,
    );
  }, 600_000);

  it('reads SES in the very pass whose DNS probe finds a domain’s record gone', async () => {
    const rows = JSON.parse((await world.cli('status', '--output', 'json')).stdout) as Array<{
      domain: string;
      active?: string;
    }>;
    const victim = rows.find((r) => r.domain === DOMAINS[4]);
    expect(victim?.active).toBeDefined();
    world.dns.store.removeTxt(dkimRecordName(victim?.active ?? '', victim?.domain ?? ''));
    world.ses.resetCounters();
    const run = await world.cli('apply');
    expect(run.code).not.toBe(1);
    // One v2 read per region, for that domain only, though no health read is due.
    expect(world.ses.counters()).toEqual({
      GetEmailIdentity: REGIONS.length,
      ...Object.fromEntries(REGIONS.map((r) => [`GetEmailIdentity@${r}`, 1])),
    });
    expect(onboardingPasses).toBeGreaterThan(0);
  }, 120_000);
});
