import { describe, expect, it } from 'vitest';
import {
  aKey,
  aSpec,
  aState,
  daysAgo,
  NOW,
  plan,
  sesOn,
  stepsOf,
  vaultOf,
} from '../../../support/builders.js';

describe('key supply (phase 3)', () => {
  it('onboarding: names the new key, its size and validity, and publishes it in the same batch', () => {
    const p = plan(aState([]));
    expect(stepsOf(p)).toEqual(['generate-key:mail-20270101-1', 'publish(upsert mail-20270101-1)']);
    expect(p.steps[0]).toMatchObject({ reason: 'Onboarding', bits: 2048, notAfter: daysAgo(-365) });
  });

  it('counts past every selector the vault holds, so a stored key is never overwritten', () => {
    const state = aState([]);
    const vault = { selectors: ['mail-20270101-1', 'mail-20270101-2'], orphans: [] };
    expect(stepsOf(plan(state, { vault }))[0]).toBe('generate-key:mail-20270101-3');
  });

  it('names no key while the vault cannot be listed (a name it holds would be refused)', () => {
    const p = plan(aState([]), { vault: undefined as never });
    expect(p.steps).toEqual([]);
    expect(p.waits.map((w) => w.reason)).toContain('VaultUnavailable');
  });

  it('counts past the state too: a failed key keeps its name', () => {
    const failed = aKey('mail-20270101-1', 'failed', { statusSince: daysAgo(1), retiringSince: daysAgo(1) });
    expect(stepsOf(plan(aState([failed]), { dns: { 'mail-20270101-1': 'missing' } }))).toContain(
      'generate-key:mail-20270101-2',
    );
  });

  it('renewal due: one new key, reason RenewalDue', () => {
    const due = aState([aKey('k1', 'active', { notAfter: daysAgo(-20) })]);
    const p = plan(due, { sesDefault: sesOn('k1'), dns: { k1: 'match' } });
    expect(p.steps[0]).toMatchObject({ kind: 'generate-key', reason: 'RenewalDue' });
  });

  it('keeps `standby` future keys', () => {
    const p = plan(
      aState([aKey('k1', 'active')]),
      { sesDefault: sesOn('k1'), dns: { k1: 'match' } },
      aSpec({ policy: { standby: 2 } }),
    );
    expect(stepsOf(p)).toEqual([
      'generate-key:mail-20270101-1',
      'generate-key:mail-20270101-2',
      'publish(upsert mail-20270101-1, upsert mail-20270101-2)',
    ]);
  });

  it('backs off after a failed switch, but not after a key the vault refused', () => {
    const failed = (keyProblem?: { code: 'KeyMismatch'; at: string }) =>
      aState([
        aKey('k1', 'active', { notAfter: daysAgo(-20) }),
        aKey('k2', 'failed', {
          statusSince: daysAgo(0.1),
          retiringSince: daysAgo(0.1),
          ...(keyProblem ? { keyProblem } : {}),
        }),
      ]);
    const obs = { sesDefault: sesOn('k1'), dns: { k1: 'match', k2: 'match' } } as const;
    const backingOff = plan(failed(), obs);
    expect(backingOff.steps.some((s) => s.kind === 'generate-key')).toBe(false);
    expect(backingOff.waits.map((w) => w.reason)).toContain('FailureBackoff');
    expect(
      plan(failed({ code: 'KeyMismatch', at: daysAgo(0.1) }), obs).steps.some(
        (s) => s.kind === 'generate-key',
      ),
    ).toBe(true);
  });

  it('delegated ring: the least recently used free name, never one the vault still holds', () => {
    const spec = aSpec({ delegation: { zone: 'dkim.example.net', selectors: 3, coolDownDays: 7 } });
    const state = aState([aKey('mail-a', 'active')]);
    const due = aState([aKey('mail-a', 'active', { notAfter: daysAgo(-20) })]);
    expect(stepsOf(plan(due, { sesDefault: sesOn('mail-a'), dns: { 'mail-a': 'match' } }, spec))[0]).toBe(
      'generate-key:mail-b',
    );
    const vault = { ...vaultOf(state), selectors: ['mail-a', 'mail-b'] };
    expect(
      stepsOf(plan(due, { sesDefault: sesOn('mail-a'), dns: { 'mail-a': 'match' }, vault }, spec))[0],
    ).toBe('generate-key:mail-c');
  });

  it('an aged-out standby is replaced; it never signed, so it needs no grace', () => {
    const state = aState([
      aKey('k1', 'active'),
      aKey('old-standby', 'verified', { verifyStreak: 2, notAfter: daysAgo(-10) }),
    ]);
    const p = plan(
      state,
      { sesDefault: sesOn('k1'), dns: { k1: 'match', 'old-standby': 'match' } },
      aSpec({ policy: { standby: 1 } }),
    );
    expect(stepsOf(p).slice(0, 2)).toEqual([
      'transition:old-standby→retiring',
      'generate-key:mail-20270101-1',
    ]);
    const retire = p.steps[0];
    expect(retire?.kind === 'transition' && Date.parse(retire.set?.retiringSince ?? '')).toBeLessThan(
      NOW.getTime(),
    );
  });
});
