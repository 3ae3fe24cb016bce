import { describe, expect, it } from 'vitest';
import type { VaultOrphan } from '../../../../src/domain/observation.js';
import { aKey, aState, daysAgo, NOW, plan, publicKeyOf, sesOn, stepsOf } from '../../../support/builders.js';

const orphan = (selector: string): VaultOrphan => ({
  selector,
  ok: true,
  publicKey: publicKeyOf(selector),
  bits: 2048,
  vaultRef: `vault (${selector})`,
});

describe('recovering an interrupted pass, and keys no state names', () => {
  it('a key stored under a generate intent is taken in as staged and published', () => {
    const state = aState([aKey('k1', 'active', { notAfter: daysAgo(-20) })], {
      intent: { kind: 'generate-key', at: daysAgo(0.01), selectors: ['mail-20270101-1'] },
    });
    const vault = { selectors: ['k1', 'mail-20270101-1'], orphans: [orphan('mail-20270101-1')] };
    const p = plan(state, { sesDefault: sesOn('k1'), dns: { k1: 'match' }, vault });
    expect(stepsOf(p)).toEqual([
      'take-in-key:mail-20270101-1',
      'clear-intent',
      'publish(upsert mail-20270101-1)',
    ]);
    expect(p.steps[0]).toMatchObject({ status: 'staged', reason: 'InterruptedKeyCompleted' });
  });

  it('an intent whose key never reached the vault is just cleared, and the key made again', () => {
    const state = aState([], {
      intent: { kind: 'generate-key', at: daysAgo(0.01), selectors: ['mail-20270101-1'] },
    });
    expect(stepsOf(plan(state))).toEqual([
      'clear-intent',
      'generate-key:mail-20270101-1',
      'publish(upsert mail-20270101-1)',
    ]);
  });

  it('without the vault listing, a generate intent is kept (the key may be there)', () => {
    const state = aState([aKey('k1', 'active')], {
      intent: { kind: 'generate-key', at: daysAgo(0.01), selectors: ['mail-20270101-1'] },
    });
    const p = plan(state, { sesDefault: sesOn('k1'), dns: { k1: 'match' }, vault: undefined as never });
    expect(stepsOf(p)).not.toContain('clear-intent');
  });

  it('a vault key no state names is taken in as failed, and retired through phase 8 at once (it never signed)', () => {
    const state = aState([aKey('k1', 'active')]);
    const vault = { selectors: ['k1', 'stray'], orphans: [orphan('stray')] };
    const p = plan(state, { sesDefault: sesOn('k1'), dns: { k1: 'match', stray: 'match' }, vault });
    expect(stepsOf(p)).toEqual(['take-in-key:stray', 'publish(delete stray)']);
    expect(p.steps[0]).toMatchObject({ status: 'failed', reason: 'OrphanKeyTakenIn' });
  });

  it('an unnamed vault key SES signs with is never destroyed: the signing key when there is none', () => {
    const vault = { selectors: ['seed-1'], orphans: [orphan('seed-1')] };
    const p = plan(aState([]), { sesDefault: sesOn('seed-1'), dns: { 'seed-1': 'match' }, vault });
    expect(p.steps[0]).toMatchObject({ kind: 'take-in-key', selector: 'seed-1', status: 'active' });
    expect(p.steps.some((s) => s.kind === 'destroy-key' || s.kind === 'publish')).toBe(false);
  });

  it('...and kept with its grace while SES uses it beside an active key', () => {
    const vault = { selectors: ['k1', 'stray'], orphans: [orphan('stray')] };
    const p = plan(aState([aKey('k1', 'active')]), {
      ses: { 'us-east-1': sesOn('k1'), 'ap-northeast-1': sesOn('stray') },
      dns: { k1: 'match', stray: 'match' },
      vault,
    });
    expect(p.steps[0]).toMatchObject({
      kind: 'take-in-key',
      status: 'failed',
      retiringSince: NOW.toISOString(),
    });
    expect(stepsOf(p)).toContain('ses-put:k1@ap-northeast-1');
    expect(p.steps.some((s) => s.kind === 'publish' || s.kind === 'destroy-key')).toBe(false);
  });

  it('an unreadable vault key is reported and left alone', () => {
    const vault = {
      selectors: ['k1', 'bad'],
      orphans: [{ selector: 'bad', ok: false as const, error: 'corrupt PEM' }],
    };
    const p = plan(aState([aKey('k1', 'active')]), { sesDefault: sesOn('k1'), dns: { k1: 'match' }, vault });
    expect(p.steps).toEqual([]);
    expect(p.warnings.map((w) => w.code)).toEqual(['OrphanKeyUnreadable']);
  });
});
