/**
 * Issue 21 in the engine: a pass that runs long keeps its lease, and checks that verify a
 * record count only when policy.verifyIntervalMinutes apart.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_LEASE_MS } from '../../../src/domain/lease.js';
import { applyDomain } from '../../../src/engine/reconcile.js';
import type { Lease } from '../../../src/ports.js';
import { ModelWorld } from '../../support/model-world.js';

const MINUTE = 60_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('the lease of a pass', () => {
  it('is renewed while the pass runs past its TTL (a stalled SES), and no more once it ends', async () => {
    // Prepare: SES answers only when the test lets it, after two lease lifetimes.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const world = new ModelWorld({ regions: ['us-east-1'] });
    const deps = world.deps();
    let renewals = 0;
    let released = false;
    let answer = (): void => undefined;
    const sesAnswers = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const lease = (domain: string, owner: string): Lease => ({
      domain,
      owner,
      expiresAt: new Date(),
      renew: async () => {
        renewals++;
      },
      release: async () => {
        released = true;
      },
    });
    const stalledDeps = {
      ...deps,
      state: { ...deps.state, acquireLease: async (domain: string, owner: string) => lease(domain, owner) },
      signing: {
        ...deps.signing,
        describe: async (identity: string, region: string) => {
          await sesAnswers;
          return deps.signing.describe(identity, region);
        },
      },
    };

    // Act
    const pass = applyDomain(world.domain, stalledDeps);
    await vi.advanceTimersByTimeAsync(2 * MAX_LEASE_MS);
    answer();
    const result = await pass;
    const duringPass = renewals;
    await vi.advanceTimersByTimeAsync(2 * MAX_LEASE_MS);

    // Assess: renewed every third of the TTL, stopped and released with the pass.
    expect(result.outcome).not.toBe('failed');
    expect(duringPass).toBe(6);
    expect(renewals).toBe(duringPass);
    expect(released).toBe(true);
  });
});

describe('policy.verifyIntervalMinutes', () => {
  it('counts a second check only when it comes at least that long after the first', async () => {
    const world = new ModelWorld({ regions: ['us-east-1'], policy: { verifyIntervalMinutes: 10 } });
    await world.pass(); // generate + publish
    world.advance(MINUTE);
    const first = await world.pass();
    expect(world.keys[0]?.verifyStreak).toBe(1);
    expect(first.plan?.steps.map((s) => s.kind)).toContain('set-streak');

    world.advance(9 * MINUTE);
    const tooSoon = await world.pass();
    expect(world.keys[0]?.verifyStreak).toBe(1);
    expect(world.keys[0]?.status).toBe('published');
    expect(tooSoon.outcome).toBe('waiting');
    expect(tooSoon.plan?.waits.map((w) => w.reason)).toContain('VerifyIntervalPending');

    world.advance(MINUTE);
    const later = await world.pass();
    expect(world.keys[0]?.verifyStreak).toBe(2);
    expect(later.plan?.steps.map((s) => s.kind)).toContain('ses-put');
  });

  it('with 0, checks count on every pass, however close together', async () => {
    const world = new ModelWorld({ regions: ['us-east-1'], policy: { verifyIntervalMinutes: 0 } });
    await world.pass();
    await world.pass();
    const second = await world.pass();
    expect(world.keys[0]?.verifyStreak).toBe(2);
    expect(second.plan?.steps.map((s) => s.kind)).toContain('ses-put');
  });
});
