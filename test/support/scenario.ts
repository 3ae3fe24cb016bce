import fc from 'fast-check';
import { applyStep } from '../../src/domain/lifecycle/index.js';
import { buildDkimRecordValue } from '../../src/domain/record.js';
import { requestRotation } from '../../src/engine/requests.js';
import { testKey } from './keys.js';
import { ModelWorld, type WorldOptions } from './model-world.js';

/** Random world events between passes, for the engine's property tests. */
const HOUR = 3_600_000;

export type Event =
  | { kind: 'advance'; hours: number }
  | { kind: 'lag' }
  | { kind: 'catch-up' }
  | { kind: 'tamper'; remove: boolean }
  | { kind: 'ses-fail'; region: number }
  | { kind: 'ses-unreachable'; region: number }
  | { kind: 'crash'; after: number }
  | { kind: 'rotate'; emergency: boolean }
  | { kind: 'dns-team' };

const arbitraries: Record<Event['kind'], fc.Arbitrary<Event>> = {
  advance: fc.record({
    kind: fc.constant('advance' as const),
    hours: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 24 * 20, max: 24 * 200 })),
  }),
  lag: fc.constant({ kind: 'lag' as const }),
  'catch-up': fc.constant({ kind: 'catch-up' as const }),
  tamper: fc.record({ kind: fc.constant('tamper' as const), remove: fc.boolean() }),
  'ses-fail': fc.record({ kind: fc.constant('ses-fail' as const), region: fc.integer({ min: 0, max: 1 }) }),
  'ses-unreachable': fc.record({
    kind: fc.constant('ses-unreachable' as const),
    region: fc.integer({ min: 0, max: 1 }),
  }),
  crash: fc.record({ kind: fc.constant('crash' as const), after: fc.integer({ min: 1, max: 6 }) }),
  rotate: fc.record({ kind: fc.constant('rotate' as const), emergency: fc.boolean() }),
  'dns-team': fc.constant({ kind: 'dns-team' as const }),
};

/** Events drawn with the given relative weights (a kind left out is never drawn). */
export function eventMix(weights: Partial<Record<Event['kind'], number>>): fc.Arbitrary<Event> {
  return fc.oneof(
    ...Object.entries(weights).map(([kind, weight]) => ({
      weight: weight as number,
      arbitrary: arbitraries[kind as Event['kind']],
    })),
  );
}

/** Every kind of event, time passing most often. */
export const event = eventMix({
  advance: 6,
  lag: 1,
  'catch-up': 1,
  tamper: 1,
  'ses-fail': 1,
  'ses-unreachable': 1,
  crash: 2,
  rotate: 1,
  'dns-team': 2,
});

/**
 * Switches interrupted by DNS going wrong: one region out of reach (so a switch proceeds
 * region by region) while a nameserver lags or serves a wrong or no record. This is where
 * "SES only on a record every nameserver serves now" (invariant 1) is decided per region.
 */
export const switchFaultEvent = eventMix({
  advance: 3,
  'ses-unreachable': 3,
  tamper: 3,
  lag: 1,
  'catch-up': 1,
  crash: 1,
  'dns-team': 1,
});

export async function runScenario(options: WorldOptions, events: Event[]): Promise<ModelWorld> {
  const world = new ModelWorld(options);
  const wrongValue = buildDkimRecordValue((await testKey('intruder', 1024)).publicKey);
  const regions = world.domain.regions;
  for (const e of events) {
    switch (e.kind) {
      case 'advance':
        world.advance(e.hours * HOUR);
        break;
      case 'lag':
        world.laggingNs = 'ns2';
        break;
      case 'catch-up':
        world.catchUp();
        break;
      case 'tamper': {
        const newest = world.keys.at(-1);
        if (newest) {
          const zone = world.zones.get('ns2');
          const name = `${newest.selector}._domainkey.${world.domain.domain}`;
          if (e.remove) zone?.delete(name);
          else zone?.set(name, [wrongValue]);
        }
        break;
      }
      case 'ses-fail':
        world.sesFailNext.add(regions[e.region] ?? '');
        break;
      case 'ses-unreachable':
        world.sesUnreachable.add(regions[e.region] ?? '');
        break;
      case 'crash':
        world.crashAfter = e.after;
        break;
      case 'rotate': {
        const stored = world.stored;
        if (!stored) break;
        try {
          const step = requestRotation(stored.value, {
            emergency: e.emergency,
            revokeNow: false,
            now: world.now,
            actor: { kind: 'test' },
            policy: world.domain.policy,
          });
          if (e.emergency) world.emergency = true;
          const next = applyStep(stored.value, step, {
            at: world.now.toISOString(),
            actor: { kind: 'test' },
          });
          world.stored = { value: next, version: stored.version };
        } catch {
          // refused (nothing active, or already rotating): a valid outcome
        }
        break;
      }
      case 'dns-team':
        world.applyHandOff();
        break;
    }
    await world.pass();
    world.sesUnreachable.clear();
  }
  // Faults stop: nameservers catch up, tampering is undone by DNS (the team or re-publish).
  world.catchUp();
  world.crashAfter = undefined;
  for (let i = 0; i < 60 && !world.converged(); i++) {
    world.applyHandOff();
    for (const key of world.keys.filter((k) => ['published', 'verified', 'active'].includes(k.status))) {
      const name = `${key.selector}._domainkey.${world.domain.domain}`;
      const value = buildDkimRecordValue(key.publicKey);
      if (world.domain.dns.provider === 'manual')
        for (const zone of world.zones.values()) zone.set(name, [value]);
    }
    await world.pass();
    world.advance(6 * HOUR);
  }
  return world;
}
