import { describe, expect, it } from 'vitest';
import type { Step } from '../../../src/domain/lifecycle/index.js';
import type { DomainResult } from '../../../src/engine/reconcile.js';
import { MetricsEmitter, measureDomain } from '../../../src/lambda/metrics.js';
import { aKey, aState, NOW } from '../../support/builders.js';

const judged = (region: string, signed: boolean, arrivedAt?: string): Step => ({
  kind: 'canary-judged',
  region,
  id: `c-${region}`,
  sentAt: '2027-01-01T00:00:00.000Z',
  ...(arrivedAt ? { arrivedAt } : {}),
  signed,
  ...(signed ? { selector: 'mail-1' } : {}),
  dmarcPass: signed,
  pass: signed,
  expectation: signed ? 'expected' : 'gap',
  reason: 'CanaryJudged',
  message: 'judged',
  phase: 7,
});

describe('canary metrics', () => {
  it('emits CanarySigned, CanaryDmarcPass and CanaryLatencySeconds per region for each canary judged in the run', () => {
    const result: DomainResult = {
      domain: 'example.com',
      outcome: 'ok',
      state: aState([aKey('mail-1', 'active')]),
      steps: [
        { step: judged('us-east-1', true, '2027-01-01T00:00:04.000Z'), status: 'done' },
        { step: judged('ap-northeast-1', false), status: 'done' },
        { step: judged('eu-west-1', true), status: 'not-run' },
      ],
      errors: [],
    };
    const lines: string[] = [];
    const emitter = new MetricsEmitter({ write: (line) => lines.push(line) });
    emitter.domain(measureDomain(result, NOW), NOW);
    const docs = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((d) => 'CanarySigned' in d);
    expect(docs.map((d) => [d.Region, d.CanarySigned, d.CanaryDmarcPass, d.CanaryLatencySeconds])).toEqual([
      ['us-east-1', 1, 1, 4],
      ['ap-northeast-1', 0, 0, undefined],
    ]);
  });
});
