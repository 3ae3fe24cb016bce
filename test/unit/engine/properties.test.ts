import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretSlices } from '../../support/keys.js';
import type { ModelWorld, WorldOptions } from '../../support/model-world.js';
import { type Event, event, runScenario, switchFaultEvent } from '../../support/scenario.js';

/**
 * Property: over random sequences of observations and faults (DNS lag, records missing or
 * wrong, SES FAILED / unreachable, crashes between any two side effects, operator
 * requests), the ports never see an invariant broken (ModelWorld checks them at every side
 * effect), no private key leaks into events or state, and once the faults stop the domain
 * converges to one active, verified selector.
 *
 * `npm test` runs each property a few dozen times; `npm run test:properties` (the
 * `properties` project) runs each one BYODKIM_PROPERTY_RUNS times, 1,000 by default.
 * BYODKIM_PROPERTY_SEED replays a failure fast-check reported.
 */
const RUNS =
  process.env.BYODKIM_PROPERTY_RUNS === undefined ? undefined : Number(process.env.BYODKIM_PROPERTY_RUNS);
const SEED =
  process.env.BYODKIM_PROPERTY_SEED === undefined ? undefined : Number(process.env.BYODKIM_PROPERTY_SEED);

/** Generous: a guard against a hung run, not a measure (about 50 ms a run here). */
function timeoutFor(fastRuns: number): number {
  return 60_000 + (RUNS ?? fastRuns) * 500;
}

async function checkProperty(
  options: WorldOptions,
  fastRuns: number,
  events: fc.Arbitrary<Event> = event,
): Promise<void> {
  const secrets = async (world: ModelWorld) => [...world.vaultKeys.values()].flatMap((k) => secretSlices(k));
  await fc.assert(
    fc.asyncProperty(fc.array(events, { minLength: 1, maxLength: 25 }), async (drawn) => {
      const world = await runScenario(options, drawn);
      expect(world.violations).toEqual([]);
      expect(world.converged(), JSON.stringify(world.keys.map((k) => [k.selector, k.status]))).toBe(true);
      const text = JSON.stringify(world.events) + JSON.stringify(world.stored);
      for (const secret of await secrets(world)) expect(text).not.toContain(secret);
    }),
    { numRuns: RUNS ?? fastRuns, ...(SEED === undefined ? {} : { seed: SEED }) },
  );
}

describe('invariants and convergence under faults (fast-check)', () => {
  it(
    'automatic DNS, two regions',
    async () => {
      await checkProperty({ policy: { keyBits: 1024 } }, 60);
    },
    timeoutFor(60),
  );

  it(
    'manual DNS hand-off',
    async () => {
      await checkProperty({ dnsMode: 'manual', policy: { keyBits: 1024 } }, 40);
    },
    timeoutFor(40),
  );

  it(
    'standby keys (standby: 2)',
    async () => {
      await checkProperty({ policy: { standby: 2, keyBits: 1024 } }, 30);
    },
    timeoutFor(30),
  );

  it(
    'switches interrupted by unreachable regions and DNS faults',
    async () => {
      await checkProperty({ policy: { keyBits: 1024 } }, 30, switchFaultEvent);
    },
    timeoutFor(30),
  );
});
