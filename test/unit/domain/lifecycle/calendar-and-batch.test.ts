import { describe, expect, it } from 'vitest';
import { RULES, rotationDueAt } from '../../../../src/domain/lifecycle/index.js';
import { aKey, aSpec, aState, daysAgo, NOW, plan, sesOn, stepsOf } from '../../../support/builders.js';

describe('calendar', () => {
  it('next is typed: the active key rotates at notAfter − renewBefore', () => {
    const p = plan(aState([aKey('k1', 'active', { notAfter: daysAgo(-100) })]), {
      sesDefault: sesOn('k1'),
      dns: { k1: 'match' },
    });
    expect(p.next).toEqual({ kind: 'rotate', selector: 'k1', at: daysAgo(-70), what: 'rotate k1' });
  });

  it('a retiring key makes the end of its grace the next event when it comes first', () => {
    const state = aState([aKey('k2', 'active'), aKey('k1', 'retiring', { retiringSince: daysAgo(2) })]);
    const p = plan(state, { sesDefault: sesOn('k2'), dns: { k2: 'match', k1: 'match' } });
    expect(p.next).toMatchObject({ kind: 'retire', selector: 'k1', at: daysAgo(-5) });
  });

  it('with standbys each key takes a turn of (validity − renewBefore) / (K + 1)', () => {
    const policy = aSpec({ policy: { standby: 1 } }).policy;
    const active = aKey('k1', 'active', { statusSince: NOW.toISOString(), notAfter: daysAgo(-365) });
    expect(rotationDueAt(active, policy, 'example.com').toISOString()).toBe(daysAgo(-(335 / 2)));
  });
});

describe('the DNS batch', () => {
  it('adds and removals go out in one publish step', () => {
    const state = aState([aKey('k2', 'active'), aKey('k1', 'retiring', { retiringSince: daysAgo(8) })], {
      rotation: { kind: 'manual', requestedAt: NOW.toISOString(), actor: { kind: 'test' } },
    });
    const p = plan(state, { sesDefault: sesOn('k2'), dns: { k2: 'match', k1: 'match' } });
    expect(stepsOf(p)).toEqual([
      'generate-key:mail-20270101-1',
      'publish(delete k1, upsert mail-20270101-1)',
    ]);
  });

  it('manual DNS: nothing more is handed over while a hand-off is pending', () => {
    const state = aState(
      [
        aKey('k2', 'active'),
        aKey('k1', 'retiring', { retiringSince: daysAgo(8) }),
        aKey('k3', 'published', { lastPublishedAt: daysAgo(1) }),
      ],
      {
        handOff: { sentAt: daysAgo(1), add: [{ name: 'k3._domainkey.example.com', value: 'v' }], remove: [] },
      },
    );
    const manual = aSpec({ dnsMode: 'manual' });
    const obs = { sesDefault: sesOn('k2'), dns: { k2: 'match', k1: 'match', k3: 'missing' } } as const;
    const p = plan(state, obs, manual);
    expect(p.steps.some((s) => s.kind === 'publish')).toBe(false);
    expect(p.waits.map((w) => w.reason)).toContain('DnsHandOffPending');
    // Once the DNS team's change shows, the removal goes out.
    expect(stepsOf(plan(state, { ...obs, dns: { ...obs.dns, k3: 'match' } }, manual))).toContain(
      'publish(delete k1)',
    );
  });
});

describe('the rule chain', () => {
  it('runs recovery first and the DNS batch last', () => {
    expect(RULES[0]?.name).toBe('recover an interrupted pass');
    expect(RULES.at(-1)?.name).toBe('send the DNS batch');
  });
});
