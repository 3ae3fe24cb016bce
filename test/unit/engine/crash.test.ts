import { describe, expect, it } from 'vitest';
import { ModelWorld } from '../../support/model-world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Crash consistency: one full life (onboard, rotate, retire the old key) is replayed once
 * per side effect, with the process dying right after that side effect (key stored,
 * record published, SES put, signing enabled, record removed, key destroyed, ...). Every
 * replay must converge with no invariant broken and no key lost.
 */
async function life(world: ModelWorld): Promise<void> {
  const step = async (ms: number) => {
    await world.pass();
    world.advance(ms);
  };
  for (let i = 0; i < 8; i++) await step(HOUR); // onboarding
  world.advance(336 * DAY); // renewal due
  for (let i = 0; i < 8; i++) await step(HOUR); // rotation
  world.advance(8 * DAY); // grace over
  for (let i = 0; i < 8; i++) await step(HOUR); // retirement
}

function noKeyLost(world: ModelWorld): void {
  for (const key of world.keys) {
    const stored = world.vaultKeys.has(`example.com/${key.selector}`);
    if (key.destroyedAt) expect(stored, `${key.selector} destroyed but still stored`).toBe(false);
    else expect(stored, `${key.selector} (${key.status}) lost from the vault`).toBe(true);
  }
}

describe('crash after each side effect in turn', () => {
  it('converges, keeps every key it still needs, and never breaks an invariant', async () => {
    const clean = new ModelWorld({ policy: { keyBits: 1024 } });
    let effects = 0;
    await life(clean);
    expect(clean.violations).toEqual([]);
    expect(clean.keys.map((k) => k.status).sort()).toEqual(['active', 'retired']);
    // Crash after the k-th side effect, for every k until a life completes without reaching k.
    for (let k = 1; ; k++) {
      const world = new ModelWorld({ policy: { keyBits: 1024 } });
      world.crashAfter = k;
      await life(world);
      const crashed = world.crashAfter === undefined;
      if (!crashed) break; // k is past the last side effect of a whole life
      effects = k;
      for (
        let i = 0;
        i < 10 && !(world.converged() && world.keys.filter((x) => x.status === 'retired').length === 1);
        i++
      ) {
        await world.pass();
        world.advance(HOUR);
      }
      expect(world.violations, `crash after side effect ${k}`).toEqual([]);
      expect(world.converged(), `crash after side effect ${k}`).toBe(true);
      expect(
        world.keys.filter((x) => x.status === 'retired'),
        `crash after side effect ${k}`,
      ).toHaveLength(1);
      noKeyLost(world);
    }
    // store, publish, 2× put, (enable is part of put), store, publish, 2× put, remove, destroy
    expect(effects).toBeGreaterThanOrEqual(10);
  });
});
