import { describe, expect, it } from 'vitest';
import { generateDkimKey } from '../../../src/domain/key.js';
import type { Plan } from '../../../src/domain/lifecycle/index.js';
import { type DomainState, emptyDomainState, type KeyEntry } from '../../../src/domain/state.js';
import type { StepResult } from '../../../src/engine/execute.js';
import type { DomainResult } from '../../../src/engine/reconcile.js';
import { ServiceError } from '../../../src/errors.js';
import { JsonLogger, logEngineEvent, serialize } from '../../../src/lambda/log.js';
import { emfDocument, MetricsEmitter, measureDomain, phaseStartedAt } from '../../../src/lambda/metrics.js';
import { secretSlices } from '../../support/keys.js';

const NOW = new Date('2026-03-01T00:00:00Z');

function key(selector: string, status: KeyEntry['status'], extra: Partial<KeyEntry> = {}): KeyEntry {
  return {
    selector,
    bits: 2048,
    publicKey: 'MIIB',
    vaultRef: `s3://keys/${selector}`,
    origin: 'generated',
    createdAt: '2026-01-01T00:00:00Z',
    notAfter: '2027-01-01T00:00:00Z',
    status,
    statusSince: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

function state(keys: KeyEntry[], extra: Partial<DomainState> = {}): DomainState {
  return { ...emptyDomainState('example.com'), keys, ...extra };
}

function result(
  s: DomainState | undefined,
  outcome: DomainResult['outcome'] = 'ok',
  plan?: Partial<Plan>,
): DomainResult {
  return {
    domain: 'example.com',
    outcome,
    errors: [],
    ...(s ? { state: s } : {}),
    ...(plan ? { plan: { domain: 'example.com', steps: [], waits: [], warnings: [], ...plan } } : {}),
  };
}

describe('JSON logger', () => {
  it('writes one JSON object per line with level, message and base fields, from the configured level up', () => {
    const lines: string[] = [];
    const log = new JsonLogger({
      write: (l) => lines.push(l),
      level: 'info',
      base: { requestId: 'r1' },
      now: () => NOW,
    });
    log.debug('hidden');
    log.child({ domain: 'example.com' }).warn('careful', { reason: 'Why' });
    expect(lines).toEqual([
      '{"timestamp":"2026-03-01T00:00:00.000Z","level":"warn","message":"careful","requestId":"r1","domain":"example.com","reason":"Why"}\n',
    ]);
  });

  it('never writes a private key: key objects redact themselves, PEM blocks are cut, errors become data', async () => {
    const key = await generateDkimKey(1024);
    const pem = key.toPem();
    const line = serialize({
      message: `oops ${pem}`,
      key,
      error: new ServiceError('S3_FAILED', 'S3 GetObject failed', { context: { bucket: 'b' } }),
    });
    expect(line).not.toContain(pem.split('\n')[1] ?? 'x');
    for (const secret of secretSlices(key)) expect(line).not.toContain(secret);
    expect(line).toContain('[private key removed]');
    expect(line).toContain('[DkimPrivateKey: redacted]');
    expect(JSON.parse(line).error).toEqual({
      name: 'ServiceError',
      code: 'S3_FAILED',
      message: 'S3 GetObject failed',
      context: { bucket: 'b' },
    });
  });

  it.each([
    [{ type: 'step', domain: 'd', step: 'publish', phase: 4, status: 'start', message: 'm' }, undefined],
    [{ type: 'step', domain: 'd', step: 'publish', phase: 4, status: 'done', message: 'm' }, 'info'],
    [{ type: 'step', domain: 'd', step: 'ses-put', phase: 6, status: 'failed', message: 'm' }, 'error'],
    [{ type: 'step', domain: 'd', step: 'ses-put', phase: 6, status: 'skipped', message: 'm' }, 'warn'],
    [{ type: 'warning', domain: 'd', code: 'EasyDkimInUse', message: 'm' }, 'warn'],
    [{ type: 'domain-done', domain: 'd', outcome: 'failed', message: 'm' }, 'error'],
    [{ type: 'domain-done', domain: 'd', outcome: 'waiting', message: 'm' }, 'info'],
  ] as const)('logs engine event %j at %s', (event, level) => {
    const lines: string[] = [];
    logEngineEvent(new JsonLogger({ write: (l) => lines.push(l) }), event);
    if (level === undefined) {
      expect(lines).toEqual([]);
      return;
    }
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ level, domain: 'd', event: event.type });
    if (event.type === 'step')
      expect(line).toMatchObject({ phase: event.phase, step: event.step, status: event.status });
    if (event.type === 'warning') expect(line.reason).toBe('EasyDkimInUse');
  });
});

describe('EMF metrics', () => {
  it('builds a document CloudWatch can extract (spec shape)', () => {
    const doc = emfDocument(
      'byodkim',
      NOW,
      { Domain: 'example.com' },
      [{ name: 'DaysToExpiry', unit: 'None', value: 12.5 }],
      {
        requestId: 'r1',
      },
    );
    expect(doc).toEqual({
      requestId: 'r1',
      _aws: {
        Timestamp: NOW.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: 'byodkim',
            Dimensions: [['Domain']],
            Metrics: [{ Name: 'DaysToExpiry', Unit: 'None' }],
          },
        ],
      },
      Domain: 'example.com',
      DaysToExpiry: 12.5,
    });
    expect(emfDocument('byodkim', NOW, {}, [])._aws).toMatchObject({
      CloudWatchMetrics: [{ Dimensions: [[]] }],
    });
  });

  it('measures days to expiry of the active key, and phase age 0 when settled', () => {
    const m = measureDomain(result(state([key('s1', 'active')])), NOW);
    expect(m).toEqual({
      domain: 'example.com',
      daysToExpiry: 306,
      phaseAgeHours: 0,
      rotationsCompleted: 0,
      failures: 0,
    });
  });

  it.each([
    [
      'a published key',
      [key('s1', 'active'), key('s2', 'published', { statusSince: '2026-02-28T00:00:00Z' })],
      {},
      24,
    ],
    [
      'a switch under way',
      [
        key('s1', 'active'),
        key('s2', 'verified', { statusSince: '2026-02-27T00:00:00Z', switchedAt: '2026-02-28T12:00:00Z' }),
      ],
      {},
      12,
    ],
    [
      'a removal waiting on DNS',
      [key('s2', 'active'), key('s1', 'retiring', { removalRequestedAt: '2026-02-28T18:00:00Z' })],
      {},
      6,
    ],
    [
      'a DNS hand-off',
      [key('s1', 'active')],
      { handOff: { sentAt: '2026-02-26T00:00:00Z', add: [], remove: [] } },
      72,
    ],
    [
      'onboarding with no key yet',
      [],
      {
        history: [
          { at: '2026-02-28T23:00:00Z', reason: 'X', message: 'm', actor: { kind: 'test' as const } },
        ],
      },
      1,
    ],
  ])('measures the phase age of %s', (_name, keys, extra, hours) => {
    const s = state(keys, extra);
    expect(measureDomain(result(s), NOW).phaseAgeHours).toBe(hours);
    expect(phaseStartedAt(s)).toBeDefined();
  });

  it('counts a rotation only when the promotion was carried out, and a failure per failed domain', () => {
    const promotion = {
      kind: 'transition' as const,
      selector: 's2',
      to: 'active' as const,
      reason: 'SigningVerified',
      message: 'm',
      phase: 7 as const,
    };
    const carried = (status: StepResult['status']): DomainResult => ({
      ...result(state([key('s2', 'active'), key('s1', 'retiring')]), status === 'done' ? 'ok' : 'failed', {
        steps: [promotion],
      }),
      steps: [{ step: promotion, status }],
    });
    expect(measureDomain(carried('done'), NOW).rotationsCompleted).toBe(1);
    expect(measureDomain(carried('not-run'), NOW)).toMatchObject({ rotationsCompleted: 0, failures: 1 });
    expect(measureDomain(carried('failed'), NOW)).toMatchObject({ rotationsCompleted: 0, failures: 1 });
    expect(measureDomain(result(undefined, 'failed'), NOW)).toEqual({
      domain: 'example.com',
      rotationsCompleted: 0,
      failures: 1,
    });
  });

  it('emits one document per domain and an aggregate without dimensions', () => {
    const lines: string[] = [];
    const emitter = new MetricsEmitter({ write: (l) => lines.push(l), properties: { requestId: 'r1' } });
    emitter.domain(
      { domain: 'a.example', daysToExpiry: 10, phaseAgeHours: 0, rotationsCompleted: 1, failures: 0 },
      NOW,
    );
    emitter.domain({ domain: 'b.example', rotationsCompleted: 0, failures: 1 }, NOW);
    emitter.aggregate(NOW, {
      skipped: 4,
      deferred: 6,
      sesCalls: 120,
      sesThrottled: 2,
      oldestSesReadHours: 23.5,
    });
    const docs = lines.map((l) => JSON.parse(l));
    expect(docs).toHaveLength(3);
    expect(docs[1]).not.toHaveProperty('DaysToExpiry');
    expect(docs[2]).toMatchObject({
      Failures: 1,
      RotationsCompleted: 1,
      DomainsSkipped: 4,
      DomainsDeferred: 6,
      SesCalls: 120,
      SesThrottled: 2,
      OldestSesReadHours: 23.5,
      requestId: 'r1',
    });
    expect(docs[2]._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual([
      'Failures',
      'RotationsCompleted',
      'DomainsSkipped',
      'DomainsDeferred',
      'SesCalls',
      'SesThrottled',
      'OldestSesReadHours',
    ]);
    expect(docs[2]).not.toHaveProperty('Domain');
  });

  it('emits SigningGapSeconds per region for the gaps that closed in the run', () => {
    const put = '2026-03-01T00:00:00.000Z';
    const s = state([key('s2', 'active'), key('s1', 'retiring')], {
      lastSwitch: {
        selector: 's2',
        regions: {
          'us-east-1': { putAt: put, successSeenAt: '2026-03-01T00:12:00.000Z' },
          'ap-northeast-1': { putAt: put },
        },
      },
    });
    const seen = {
      kind: 'signing-seen' as const,
      region: 'us-east-1',
      selector: 's2',
      reason: 'SigningSeen',
      message: 'm',
      phase: 7 as const,
    };
    const measures = measureDomain({ ...result(s), steps: [{ step: seen, status: 'done' }] }, NOW);
    expect(measures.signingGaps).toEqual([{ region: 'us-east-1', gapSeconds: 720 }]);
    const lines: string[] = [];
    new MetricsEmitter({ write: (l) => lines.push(l) }).domain(measures, NOW);
    const gapDoc = lines.map((l) => JSON.parse(l)).find((d) => 'SigningGapSeconds' in d);
    expect(gapDoc).toMatchObject({ Domain: 'example.com', Region: 'us-east-1', SigningGapSeconds: 720 });
    expect(gapDoc._aws.CloudWatchMetrics[0]).toMatchObject({
      Dimensions: [['Domain', 'Region']],
      Metrics: [{ Name: 'SigningGapSeconds', Unit: 'Seconds' }],
    });
  });
});
