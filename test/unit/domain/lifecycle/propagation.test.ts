import { describe, expect, it } from 'vitest';
import { aKey, aSpec, aState, daysAgo, NOW, plan, sesOn, stepsOf } from '../../../support/builders.js';

const onboarding = (extra: Parameters<typeof aKey>[2] = {}) =>
  aState([
    aKey('k1', 'published', { statusSince: NOW.toISOString(), lastPublishedAt: NOW.toISOString(), ...extra }),
  ]);

describe('propagation (phase 5)', () => {
  it.each([
    {
      name: 'first time served everywhere: streak 1',
      state: onboarding(),
      dns: 'match',
      steps: ['set-streak:k1'],
    },
    {
      name: 'second time in a row: verified, then switched',
      state: onboarding({ verifyStreak: 1 }),
      dns: 'match',
      steps: [
        'set-streak:k1',
        'transition:k1→verified',
        'transition:k1→verified',
        'ses-create:k1@us-east-1',
        'ses-create:k1@ap-northeast-1',
      ],
    },
    {
      name: 'a lagging nameserver resets the streak',
      state: onboarding({ verifyStreak: 1 }),
      dns: ['match', 'missing'],
      steps: ['set-streak:k1'],
    },
    { name: 'another key served: not counted', state: onboarding(), dns: 'other-key', steps: [] },
  ] as const)('$name', ({ state, dns, steps }) => {
    const p = plan(state, { dns: { k1: dns } }, aSpec({ createIdentity: true }));
    expect(stepsOf(p)).toEqual(steps);
  });

  it('waits on DNS (outside) while not served everywhere', () => {
    const p = plan(onboarding(), { dns: { k1: ['match', 'missing'] } });
    expect(p.waits.filter((w) => w.outside)).toEqual([
      expect.objectContaining({ reason: 'DnsPropagationPending', selector: 'k1' }),
    ]);
  });

  it('publishes again an hour after the last publish when a nameserver still lacks the record (automatic DNS only)', () => {
    const stale = onboarding({ lastPublishedAt: daysAgo(0.05) });
    expect(stepsOf(plan(stale, { dns: { k1: ['match', 'missing'] } }))).toEqual(['publish(upsert k1)']);
    expect(stepsOf(plan(stale, { dns: { k1: ['match', 'missing'] } }, aSpec({ dnsMode: 'manual' })))).toEqual(
      [],
    );
    expect(stepsOf(plan(onboarding(), { dns: { k1: ['match', 'missing'] } }))).toEqual([]);
  });

  it('a verified key that is no longer served goes back to published', () => {
    const verified = aState([
      aKey('k1', 'verified', { verifyStreak: 2, lastPublishedAt: NOW.toISOString() }),
    ]);
    expect(stepsOf(plan(verified, { dns: { k1: 'missing' } }))).toEqual([
      'set-streak:k1',
      'transition:k1→published',
    ]);
  });

  it('the active record deleted behind byodkim: re-published (automatic) and reported', () => {
    const p = plan(aState([aKey('k1', 'active')]), { sesDefault: sesOn('k1'), dns: { k1: 'missing' } });
    expect(stepsOf(p)).toEqual(['publish(upsert k1)']);
    expect(p.warnings.map((w) => w.code)).toEqual(['ActiveRecordDrift']);
  });

  it('a DNS team hand-off is done when every nameserver serves what was asked', () => {
    const handedOff = onboarding({ lastPublishedAt: NOW.toISOString() });
    handedOff.handOff = {
      sentAt: daysAgo(0.2),
      add: [{ name: 'k1._domainkey.example.com', value: 'v' }],
      remove: [],
    };
    const manual = aSpec({ dnsMode: 'manual' });
    const waiting = plan(handedOff, { dns: { k1: 'missing' } }, manual);
    expect(waiting.waits.filter((w) => w.outside).map((w) => w.reason)).toEqual(['DnsHandOffPending']);
    expect(stepsOf(plan(handedOff, { dns: { k1: 'match' } }, manual))).toEqual([
      'hand-off-done',
      'set-streak:k1',
    ]);
  });
});
