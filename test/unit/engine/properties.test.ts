import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretSlices } from '../../support/keys.js';
import type { ModelWorld, WorldOptions } from '../../support/model-world.js';
import { event, runScenario } from '../../support/scenario.js';

/**
 * Property: over random sequences of observations and faults (DNS lag, records missing or
 * wrong, SES FAILED / unreachable, crashes between any two side effects, operator
 * requests), the ports never see an invariant broken (ModelWorld checks them at every side
 * effect), no private key leaks into events or state, and once the faults stop the domain
 * converges to one active, verified selector.
 */
async function checkProperty(options: WorldOptions, runs: number): Promise<void> {
  const secrets = async (world: ModelWorld) => [...world.vaultKeys.values()].flatMap((k) => secretSlices(k));
  await fc.assert(
    fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 25 }), async (events) => {
      const world = await runScenario(options, events);
      expect(world.violations).toEqual([]);
      expect(world.converged(), JSON.stringify(world.keys.map((k) => [k.selector, k.status]))).toBe(true);
      const text = JSON.stringify(world.events) + JSON.stringify(world.stored);
      for (const secret of await secrets(world)) expect(text).not.toContain(secret);
    }),
    { numRuns: Number(process.env.BYODKIM_PROPERTY_RUNS ?? runs) },
  );
}

describe('invariants and convergence under faults (fast-check)', () => {
  it('automatic DNS, two regions', async () => {
    await checkProperty({ policy: { keyBits: 1024 } }, 60);
  }, 120_000);

  it('manual DNS hand-off', async () => {
    await checkProperty({ dnsMode: 'manual', policy: { keyBits: 1024 } }, 40);
  }, 120_000);

  it('standby keys (standby: 2)', async () => {
    await checkProperty({ policy: { standby: 2, keyBits: 1024 } }, 30);
  }, 120_000);
});
