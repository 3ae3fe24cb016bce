import { describe, expect, it } from 'vitest';
import type { Step } from '../../../../src/domain/lifecycle/index.js';
import {
  applyStep,
  recordFailure,
  resolveDnsChanges,
  withIntent,
} from '../../../../src/domain/lifecycle/index.js';
import { HISTORY_LIMIT } from '../../../../src/domain/state.js';
import { aKey, aState, daysAgo, NOW, publicKeyOf } from '../../../support/builders.js';

const ctx = { at: NOW.toISOString(), actor: { kind: 'test' as const } };
const generate: Step = {
  kind: 'generate-key',
  selector: 's2',
  bits: 2048,
  notAfter: daysAgo(-365),
  reason: 'RenewalDue',
  message: 'm',
  phase: 3,
};

describe('applyStep: the one way state changes', () => {
  it('generate-key names the key with what the vault produced', () => {
    const next = applyStep(aState([]), generate, {
      ...ctx,
      outcome: { generated: { publicKey: publicKeyOf('s2'), bits: 2048, vaultRef: 'file:/k/s2' } },
    });
    expect(next.keys).toEqual([
      expect.objectContaining({
        selector: 's2',
        status: 'staged',
        publicKey: publicKeyOf('s2'),
        vaultRef: 'file:/k/s2',
      }),
    ]);
    expect(next.history.at(-1)).toMatchObject({ selector: 's2', to: 'staged', reason: 'RenewalDue' });
  });

  it('publish: staged → published when applied; handed-off also records the hand-off', () => {
    const staged = aState([aKey('s2', 'staged')]);
    const publish: Step = {
      kind: 'publish',
      changes: [
        {
          action: 'upsert',
          record: 'key',
          name: 's2._domainkey.example.com',
          selector: 's2',
          ttl: 300,
          reason: 'Publish',
        },
      ],
      reason: 'Publish',
      message: 'm',
      phase: 4,
    };
    const applied = applyStep(staged, publish, { ...ctx, outcome: { published: 'applied' } });
    expect(applied.keys[0]).toMatchObject({ status: 'published', lastPublishedAt: ctx.at, verifyStreak: 0 });
    expect(applied.handOff).toBeUndefined();
    const handedOff = applyStep(staged, publish, { ...ctx, outcome: { published: 'handed-off' } });
    expect(handedOff.handOff?.add).toEqual([
      { name: 's2._domainkey.example.com', value: `v=DKIM1; k=rsa; p=${publicKeyOf('s2')}` },
    ]);
  });

  it('resolves a planned change to the record of the key in the state (known only after generation)', () => {
    const changes = [
      {
        action: 'upsert' as const,
        record: 'key' as const,
        name: 'n',
        selector: 's2',
        ttl: 300,
        reason: 'Publish',
      },
    ];
    const generated = applyStep(aState([]), generate, {
      ...ctx,
      outcome: { generated: { publicKey: 'PUB', bits: 2048, vaultRef: 'v' } },
    });
    expect(resolveDnsChanges(generated, changes)[0]?.value).toContain('p=PUB');
  });

  it('an intent is recorded before a creating step and cleared by it, or by its failure', () => {
    const before = withIntent(aState([]), generate, ctx.at);
    expect(before.intent).toEqual({ kind: 'generate-key', at: ctx.at, selectors: ['s2'] });
    const done = applyStep(before, generate, {
      ...ctx,
      outcome: { generated: { publicKey: 'P', bits: 2048, vaultRef: 'v' } },
    });
    expect(done.intent).toBeUndefined();
    expect(recordFailure(before, generate, { message: 'disk full' }, ctx).intent).toBeUndefined();
  });

  it('a KeyMismatch failure of a put marks the key, naming no key material', () => {
    const put: Step = {
      kind: 'ses-put',
      region: 'us-east-1',
      selector: 's2',
      reason: 'SwitchSelector',
      message: 'put',
      phase: 6,
    };
    const failed = recordFailure(
      aState([aKey('s2', 'verified')]),
      put,
      { code: 'KEY_MISMATCH', message: 'KeyMismatch: s2' },
      ctx,
    );
    expect(failed.keys[0]?.keyProblem).toEqual({ code: 'KeyMismatch', at: ctx.at });
    expect(failed.history.at(-1)).toMatchObject({ reason: 'SwitchSelectorFailed', selector: 's2' });
  });

  it('a transition can clear fields, and history stays capped', () => {
    const long = aState([aKey('s1', 'retiring', { retiringSince: daysAgo(1) })], {
      history: Array.from({ length: HISTORY_LIMIT }, () => ({
        at: ctx.at,
        reason: 'X',
        message: 'x',
        actor: ctx.actor,
      })),
    });
    const next = applyStep(
      long,
      {
        kind: 'transition',
        selector: 's1',
        to: 'verified',
        set: { switchedAt: ctx.at },
        unset: ['retiringSince'],
        reason: 'RollbackRequested',
        message: 'm',
        phase: 6,
      },
      ctx,
    );
    expect(next.keys[0]).toMatchObject({ status: 'verified', switchedAt: ctx.at });
    expect(next.keys[0]?.retiringSince).toBeUndefined();
    expect(next.history).toHaveLength(HISTORY_LIMIT);
    expect(next.history.at(-1)?.reason).toBe('RollbackRequested');
  });
});
