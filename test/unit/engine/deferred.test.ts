import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/domain/lifecycle/index.js';
import { execute } from '../../../src/engine/execute.js';
import { ServiceError } from '../../../src/errors.js';
import type { EngineEvent, SigningService } from '../../../src/ports.js';
import { aKey, aState, DOMAIN, NOW } from '../../support/builders.js';
import { testKey } from '../../support/keys.js';

/**
 * A write the SES budget has no room for (throttled after the SDK's retries, or deferred by
 * the client's budget at a deadline) is deferred to the next pass: not a failure, no failure
 * history, no intent left behind; that region's later steps wait, the other region goes on.
 */
describe('a step over the SES budget is deferred, not failed', () => {
  it.each([
    ['throttled after its retries', 'SES_THROTTLED'],
    ["deferred by the client's budget at the deadline", 'SES_DEFERRED'],
  ])('%s', async (_, code) => {
    const key = await testKey('deferred', 1024);
    const state = aState([
      aKey('k1', 'active'),
      aKey('k2', 'verified', { publicKey: key.publicKey, switchedAt: NOW.toISOString() }),
    ]);
    const puts: string[] = [];
    const signing: SigningService = {
      describe: async () => {
        throw new Error('not read here');
      },
      putExternalKey: async (_identity, region) => {
        if (region === 'us-east-1')
          throw new ServiceError(code, `SES ${region}: Rate exceeded`, { retryable: true });
        puts.push(region);
      },
      setSigningEnabled: async (_identity, region) => {
        puts.push(`enable ${region}`);
      },
      createIdentity: async () => undefined,
      listIdentities: async () => [],
    };
    const plan: Plan = {
      domain: DOMAIN,
      waits: [],
      warnings: [],
      steps: [
        {
          kind: 'ses-put',
          region: 'us-east-1',
          selector: 'k2',
          reason: 'SwitchSelector',
          message: 'put us',
          phase: 6,
        },
        { kind: 'ses-enable', region: 'us-east-1', reason: 'EnableSigning', message: 'enable us', phase: 7 },
        {
          kind: 'ses-put',
          region: 'ap-northeast-1',
          selector: 'k2',
          reason: 'SwitchSelector',
          message: 'put ap',
          phase: 6,
        },
      ],
    };
    const events: EngineEvent[] = [];
    const saved: unknown[] = [];
    const result = await execute(
      plan,
      state,
      { domain: DOMAIN },
      {
        vault: {
          description: 'test vault',
          put: async () => 'ref',
          get: async () => key,
          retire: async () => undefined,
          list: async () => ['k1', 'k2'],
        },
        signing,
        publisher: { description: 'none', mode: 'automatic', apply: async () => 'applied' },
        notifier: { notify: async () => undefined },
        output: { event: (e) => events.push(e) },
      },
      { now: NOW, actor: { kind: 'test' }, checkpoint: async (s) => void saved.push(s) },
    );
    expect(result.steps.map((r) => r.status)).toEqual(['deferred', 'skipped', 'done']);
    expect(puts).toEqual(['ap-northeast-1']);
    expect(result.state.intent).toBeUndefined();
    expect(result.state.history.map((h) => h.reason)).toContain('SwitchSelectorDeferred');
    expect(result.state.history.some((h) => h.reason.endsWith('Failed'))).toBe(false);
    expect(result.state.keys.find((k) => k.selector === 'k2')?.keyProblem).toBeUndefined();
    expect(events.some((e) => e.type === 'step' && e.status === 'deferred')).toBe(true);
    expect(events.some((e) => e.type === 'step' && e.status === 'failed')).toBe(false);
  });
});
