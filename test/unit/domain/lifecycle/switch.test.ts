import { describe, expect, it } from 'vitest';
import { aKey, aSpec, aState, daysAgo, NOW, plan, sesOn, stepsOf } from '../../../support/builders.js';

/** Renewal of `old` due (created 340 days ago), `next` verified and ready. */
const due = aState([
  aKey('old', 'active', { createdAt: daysAgo(340), notAfter: daysAgo(-25) }),
  aKey('next', 'verified', { verifyStreak: 2 }),
]);

describe('switch SES (phases 6–7)', () => {
  it.each([
    {
      name: 'switches every region when the next key is served everywhere now',
      dns: { old: 'match', next: 'match' } as const,
      steps: ['transition:next→verified', 'ses-put:next@us-east-1', 'ses-put:next@ap-northeast-1'],
    },
    {
      name: 'never switches while one nameserver does not serve the key (invariant 1)',
      dns: { old: 'match', next: ['match', 'missing'] } as const,
      steps: ['set-streak:next', 'transition:next→published', 'publish(upsert next)'],
    },
    {
      name: 'never switches on a record not probed in this observation (invariant 1)',
      dns: { old: 'match' } as const,
      steps: ['set-streak:next', 'transition:next→published'],
    },
  ])('$name', ({ dns, steps }) => {
    const p = plan(due, { sesDefault: sesOn('old'), dns });
    expect(stepsOf(p)).toEqual(steps);
  });

  it('does not switch before the rotation is due', () => {
    const fresh = aState([aKey('old', 'active'), aKey('next', 'verified', { verifyStreak: 2 })]);
    const p = plan(fresh, { sesDefault: sesOn('old'), dns: { old: 'match', next: 'match' } });
    expect(stepsOf(p)).toEqual([]);
    expect(p.next).toMatchObject({ kind: 'rotate', selector: 'old' });
  });

  it('mid-switch: a region still on the old key is put again only while DNS serves the new one', () => {
    const switching = aState([
      aKey('old', 'active'),
      aKey('next', 'verified', { verifyStreak: 2, switchedAt: daysAgo(0.01) }),
    ]);
    const ses = { 'us-east-1': sesOn('next', 'PENDING'), 'ap-northeast-1': sesOn('old') };
    expect(stepsOf(plan(switching, { ses, dns: { old: 'match', next: 'match' } }))).toEqual([
      'ses-put:next@ap-northeast-1',
    ]);
    const lagging = plan(switching, { ses, dns: { old: 'match', next: ['missing', 'match'] } });
    expect(stepsOf(lagging)).toEqual(['set-streak:next', 'publish(upsert next)']);
    expect(lagging.waits.map((w) => w.reason)).toContain('DnsPropagationPending');
  });

  it('promotes the key once SES reports SUCCESS everywhere; the old one starts its grace', () => {
    const switching = aState([
      aKey('old', 'active'),
      aKey('next', 'verified', { verifyStreak: 2, switchedAt: daysAgo(0.01) }),
    ]);
    const p = plan(switching, { sesDefault: sesOn('next'), dns: { old: 'match', next: 'match' } });
    expect(stepsOf(p)).toEqual(['transition:next→active', 'transition:old→retiring', 'notify:next']);
    const retiring = p.steps[1];
    expect(retiring?.kind === 'transition' && retiring.set?.retiringSince).toBe(NOW.toISOString());
  });

  it('rolls SES back to the active key when a region reports FAILED, and notifies', () => {
    const switching = aState([
      aKey('old', 'active'),
      aKey('next', 'verified', { verifyStreak: 2, switchedAt: daysAgo(1) }),
    ]);
    const ses = { 'us-east-1': sesOn('next', 'FAILED'), 'ap-northeast-1': sesOn('next', 'PENDING') };
    const p = plan(switching, { ses, dns: { old: 'match', next: 'match' } });
    expect(stepsOf(p)).toEqual([
      'ses-put:old@us-east-1',
      'ses-enable@us-east-1',
      'ses-put:old@ap-northeast-1',
      'ses-enable@ap-northeast-1',
      'transition:next→failed',
      'notify:next',
    ]);
    expect(p.steps[4]?.reason).toBe('SesVerificationFailed');
  });

  it('fails the switch when the verification window runs out', () => {
    const switching = aState([
      aKey('old', 'active'),
      aKey('next', 'verified', { verifyStreak: 2, switchedAt: daysAgo(1) }),
    ]);
    const spec = aSpec({ policy: { verificationWindowHours: 12 } });
    const p = plan(
      switching,
      { sesDefault: sesOn('next', 'PENDING'), dns: { old: 'match', next: 'match' } },
      spec,
    );
    expect(p.steps.find((s) => s.kind === 'transition')?.reason).toBe('VerificationWindowExpired');
  });

  it('does not put a key the vault refused (KeyMismatch): it fails and a fresh key is generated', () => {
    const refused = aState([
      aKey('old', 'active', { createdAt: daysAgo(340), notAfter: daysAgo(-25) }),
      aKey('next', 'verified', { verifyStreak: 2, keyProblem: { code: 'KeyMismatch', at: daysAgo(0.1) } }),
    ]);
    const p = plan(refused, { sesDefault: sesOn('old'), dns: { old: 'match', next: 'match' } });
    expect(stepsOf(p)).toEqual([
      'transition:next→failed',
      'notify:next',
      'generate-key:mail-20270101-1',
      // The refused key never signed: its record goes at once, the fresh key's comes in.
      'publish(delete next, upsert mail-20270101-1)',
    ]);
    expect(p.steps.some((s) => s.kind === 'ses-put')).toBe(false);
  });
});

describe('keep SES on the active key (steady state)', () => {
  const steady = aState([aKey('k1', 'active')]);
  /** SES moved off BYODKIM behind byodkim's back (not verified Easy DKIM, which byodkim leaves alone). */
  const noByodkim = sesOn(undefined, 'PENDING', { origin: 'AWS_SES', signingEnabled: false });

  it.each([
    { name: 'healthy: nothing', ses: sesOn('k1'), steps: [] as string[] },
    {
      name: 'drifted to no selector: restored, signing asserted',
      ses: noByodkim,
      steps: [
        'ses-put:k1@us-east-1',
        'ses-enable@us-east-1',
        'ses-put:k1@ap-northeast-1',
        'ses-enable@ap-northeast-1',
      ],
    },
    {
      name: 'signing off: enabled',
      ses: sesOn('k1', 'SUCCESS', { signingEnabled: false }),
      steps: ['ses-enable@us-east-1', 'ses-enable@ap-northeast-1'],
    },
    {
      name: 'FAILED with the record served: asked again',
      ses: sesOn('k1', 'FAILED'),
      steps: [
        'ses-put:k1@us-east-1',
        'ses-enable@us-east-1',
        'ses-put:k1@ap-northeast-1',
        'ses-enable@ap-northeast-1',
      ],
    },
  ])('$name', ({ ses, steps }) => {
    expect(stepsOf(plan(steady, { sesDefault: ses, dns: { k1: 'match' } }))).toEqual(steps);
  });

  it('does not restore a key whose record is not served, or whose vault copy was refused', () => {
    expect(stepsOf(plan(steady, { sesDefault: noByodkim, dns: { k1: 'missing' } }))).toEqual([
      'publish(upsert k1)',
    ]);
    const refused = aState([aKey('k1', 'active', { keyProblem: { code: 'KeyMissing', at: daysAgo(1) } })]);
    const p = plan(refused, { sesDefault: noByodkim, dns: { k1: 'match' } });
    expect(p.steps.some((s) => s.kind === 'ses-put')).toBe(false);
    expect(p.warnings.map((w) => w.code)).toContain('SesDrift');
    // ...and the unusable active key is rotated away from.
    expect(p.steps.find((s) => s.kind === 'generate-key')?.reason).toBe('ActiveKeyUnusable');
  });
});
