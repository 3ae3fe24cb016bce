/**
 * The handler over the real engine and a fleet of model worlds: routing of every event
 * kind, bad input that changes nothing, operator requests, the deadline, the warm cache,
 * and what reaches stdout (JSON log lines and EMF documents only).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  createHandler,
  type ErrorResponse,
  type HandlerResponse,
  ordered,
  type PassResponse,
} from '../../../src/lambda/handler.js';
import type { LambdaRuntime } from '../../../src/lambda/runtime.js';
import { Fleet, fakeContext, HOUR } from './fleet.js';

const SCHEDULED = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
const stackEvent = (status: string) => ({
  'detail-type': 'CloudFormation Stack Status Change',
  source: 'aws.cloudformation',
  detail: { 'stack-id': 'arn:aws:cloudformation:us-east-1:1:stack/dkim/1', 'status-details': { status } },
});

interface Rig {
  fleet: Fleet;
  lines: string[];
  init: ReturnType<typeof vi.fn<() => Promise<LambdaRuntime>>>;
  handle: ReturnType<typeof createHandler>;
  /** Parsed stdout lines. */
  json(): Array<Record<string, unknown>>;
  emf(): Array<Record<string, unknown>>;
  logs(): Array<Record<string, unknown>>;
}

function rig(domains = ['a.example', 'b.example', 'c.example'], env: Record<string, string> = {}): Rig {
  const fleet = new Fleet(domains);
  const lines: string[] = [];
  const runtime = fleet.runtime();
  const init = vi.fn(async () => runtime);
  const handle = createHandler({
    init,
    env: { BYODKIM_CONCURRENCY: '1', ...env },
    write: (line) => lines.push(line),
    now: () => fleet.now,
    random: () => 0,
  });
  const json = () =>
    lines.map((line) => {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      return JSON.parse(line) as Record<string, unknown>;
    });
  return {
    fleet,
    lines,
    init,
    handle,
    json,
    emf: () => json().filter((l) => '_aws' in l),
    logs: () => json().filter((l) => !('_aws' in l)),
  };
}

function asPass(response: HandlerResponse): PassResponse {
  if (!('counts' in response)) throw new Error(`not a pass: ${JSON.stringify(response)}`);
  return response;
}

function asError(response: HandlerResponse): ErrorResponse {
  if (response.ok !== false || !('error' in response))
    throw new Error(`not an error: ${JSON.stringify(response)}`);
  return response;
}

/** Scheduled passes an hour apart until every domain is converged. */
async function converge(r: Rig, maxPasses = 12): Promise<PassResponse[]> {
  const responses: PassResponse[] = [];
  for (let i = 0; i < maxPasses && !r.fleet.converged(); i++) {
    responses.push(asPass(await r.handle(SCHEDULED, fakeContext(undefined, `pass-${i}`))));
    r.fleet.advance(HOUR);
  }
  expect(r.fleet.converged()).toBe(true);
  expect(r.fleet.violations()).toEqual([]);
  return responses;
}

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string; Unit: string }>;
}

function directives(doc: Record<string, unknown> | undefined): Directive[] {
  return (doc?._aws as { CloudWatchMetrics?: Directive[] } | undefined)?.CloudWatchMetrics ?? [];
}

function versions(fleet: Fleet): Array<string | undefined> {
  return [...fleet.worlds.values()].map((w) => w.stored?.version);
}

describe('Lambda handler: routing', () => {
  it('runs one pass over every domain on a scheduled event', async () => {
    const r = rig();
    const response = asPass(await r.handle(SCHEDULED, fakeContext()));
    expect(response).toMatchObject({
      ok: true,
      action: 'phase_manager',
      trigger: 'schedule',
      requestId: 'req-1',
    });
    expect(response.domains.map((d) => d.domain).sort()).toEqual(['a.example', 'b.example', 'c.example']);
    expect(response.counts).toEqual({ ok: 0, waiting: 3, failed: 0, locked: 0, skipped: 0 });
    expect(response.skipped).toEqual([]);
    for (const d of response.domains) expect(d.steps.map((s) => s.kind)).toEqual(['generate-key', 'publish']);
    for (const world of r.fleet.worlds.values()) expect(world.keys[0]?.status).toBe('published');
  });

  it('runs phase_manager on a CloudFormation CREATE_COMPLETE / UPDATE_COMPLETE, as the seeds rule did', async () => {
    const r = rig(['a.example']);
    const created = asPass(await r.handle(stackEvent('CREATE_COMPLETE'), fakeContext()));
    expect(created).toMatchObject({
      action: 'phase_manager',
      trigger: 'cloudformation',
      stack: { status: 'CREATE_COMPLETE', id: 'arn:aws:cloudformation:us-east-1:1:stack/dkim/1' },
    });
    expect(created.domains).toHaveLength(1);
    const updated = asPass(await r.handle(stackEvent('UPDATE_COMPLETE'), fakeContext()));
    expect(updated.trigger).toBe('cloudformation');
  });

  it('acknowledges other stack statuses without loading anything', async () => {
    const r = rig();
    const response = await r.handle(stackEvent('UPDATE_ROLLBACK_COMPLETE'), fakeContext());
    expect(response).toMatchObject({ ok: true, action: 'ignore', trigger: 'cloudformation' });
    expect(r.init).not.toHaveBeenCalled();
    expect(r.fleet.leases).toEqual([]);
  });

  it('runs a direct phase_manager for all domains or for one', async () => {
    const r = rig();
    expect(asPass(await r.handle({ action: 'phase_manager' }, fakeContext())).domains).toHaveLength(3);
    const one = asPass(await r.handle({ action: 'phase_manager', domain: 'B.Example.' }, fakeContext()));
    expect(one.domains.map((d) => d.domain)).toEqual(['b.example']);
  });

  it.each([
    ['a misspelt action', { action: 'rotat', domain: 'a.example' }, 'EVENT_INVALID', 'action', 'rotat'],
    ['rotate without a domain', { action: 'rotate' }, 'EVENT_INVALID', 'domain', 'undefined'],
    [
      'a non-boolean flag',
      { action: 'rotate', domain: 'a.example', emergency: 1 },
      'EVENT_INVALID',
      'emergency',
      '1',
    ],
    ['an unknown domain', { action: 'rotate', domain: 'z.example' }, 'DOMAIN_UNKNOWN', 'domain', 'z.example'],
    [
      'an unknown domain for a pass',
      { action: 'phase_manager', domain: 'z.example' },
      'DOMAIN_UNKNOWN',
      'domain',
      'z.example',
    ],
    [
      'a foreign event',
      { source: 'aws.s3', 'detail-type': 'Object Created' },
      'EVENT_UNRECOGNIZED',
      'detail-type',
      'Object Created',
    ],
  ])(
    'answers %s with an error naming the bad value, and changes nothing',
    async (_name, event, code, field, value) => {
      const r = rig();
      await r.handle(SCHEDULED, fakeContext());
      const before = versions(r.fleet);
      const leases = r.fleet.leases.length;
      const response = asError(await r.handle(event, fakeContext(undefined, 'bad-1')));
      expect(response.error).toMatchObject({ code, field, value });
      expect(response.error.message).not.toMatch(/--domain|\/tmp\//);
      expect(response.requestId).toBe('bad-1');
      expect(versions(r.fleet)).toEqual(before);
      expect(r.fleet.leases.length).toBe(leases);
      const rejected = r.logs().filter((l) => l.requestId === 'bad-1');
      expect(rejected).toEqual([expect.objectContaining({ level: 'warn', reason: code, field, value })]);
    },
  );

  it('refuses a rotation before onboarding, naming the domain, with no state change', async () => {
    const r = rig(['a.example']);
    await r.handle(SCHEDULED, fakeContext());
    const before = versions(r.fleet);
    const response = asError(await r.handle({ action: 'rotate', domain: 'a.example' }, fakeContext()));
    expect(response.error).toMatchObject({ code: 'NOTHING_TO_ROTATE', value: 'a.example' });
    expect(versions(r.fleet)).toEqual(before);
  });

  it('refuses a rollback with nothing to roll back to', async () => {
    const r = rig(['a.example']);
    await converge(r);
    const before = versions(r.fleet);
    const response = asError(await r.handle({ action: 'rollback', domain: 'a.example' }, fakeContext()));
    expect(response.error.code).toBe('NOTHING_TO_ROLL_BACK');
    expect(versions(r.fleet)).toEqual(before);
  });

  it('records a rotation under the lease as the lambda actor, then runs a pass for that domain only', async () => {
    const r = rig(['a.example', 'b.example']);
    await converge(r);
    const old = r.fleet.world('a.example').active()?.selector;
    r.fleet.world('a.example').emergency = true; // the model allows retiring without grace
    const response = asPass(
      await r.handle(
        { action: 'rotate', domain: 'a.example', emergency: true },
        fakeContext(undefined, 'rot-1'),
      ),
    );
    expect(response).toMatchObject({ action: 'rotate', trigger: 'direct' });
    expect(response.domains.map((d) => d.domain)).toEqual(['a.example']);
    expect(response.domains[0]?.steps.map((s) => s.kind)).toContain('generate-key');
    const world = r.fleet.world('a.example');
    const requested = world.stored?.value.history.find((h) => h.reason === 'EmergencyRotationRequested');
    expect(requested?.actor).toEqual({ kind: 'test' });
    expect(world.stored?.value.rotation?.kind).toBe('emergency');
    // The request's own lease, then the pass's, both named after this invocation.
    expect(r.fleet.leases.slice(-2)).toEqual([
      'a.example lambda:byodkim-test:rot-1:request',
      'a.example lambda:byodkim-test:rot-1',
    ]);
    // And it goes on to completion on later passes.
    for (let i = 0; i < 12 && world.active()?.selector === old; i++) {
      r.fleet.advance(HOUR);
      await r.handle(SCHEDULED, fakeContext());
    }
    expect(world.active()?.selector).not.toBe(old);
    expect(r.fleet.violations()).toEqual([]);
  });

  it('reports status without changing anything and without metrics', async () => {
    const r = rig(['a.example', 'b.example']);
    await converge(r);
    const before = versions(r.fleet);
    const emfBefore = r.emf().length;
    const response = asPass(await r.handle({ action: 'status' }, fakeContext()));
    expect(response.action).toBe('status');
    expect(versions(r.fleet)).toEqual(before);
    expect(r.emf().length).toBe(emfBefore);
    const a = response.domains.find((d) => d.domain === 'a.example');
    expect(a?.active?.selector).toBe(r.fleet.world('a.example').active()?.selector);
    expect(a?.ses).toEqual({
      'us-east-1': { status: 'SUCCESS', signingEnabled: true, selector: a?.active?.selector },
      'ap-northeast-1': { status: 'SUCCESS', signingEnabled: true, selector: a?.active?.selector },
    });
    expect(a?.next?.what).toContain('rotate');
  });

  it('reports a domain held by another run as locked and goes on with the others', async () => {
    const r = rig();
    r.fleet.locked.add('b.example');
    const response = asPass(await r.handle(SCHEDULED, fakeContext()));
    expect(response.counts).toMatchObject({ locked: 1, waiting: 2 });
    expect(r.emf().filter((d) => d.Domain === 'b.example')).toEqual([]);
  });
});

describe('Lambda handler: deadline', () => {
  it('stops taking domains when the remaining time falls under the margin, reports them, and takes them first next time', async () => {
    const domains = ['d1.example', 'd2.example', 'd3.example', 'd4.example', 'd5.example'];
    const r = rig(domains, { BYODKIM_DEADLINE_MARGIN_MS: '60000' });
    let elapsed = 0;
    r.fleet.onLease = () => {
      elapsed += 30_000;
    };
    const context = fakeContext(() => 100_000 - elapsed, 'short-1');
    const first = asPass(await r.handle(SCHEDULED, context));
    // 100 s left: d1 starts; 70 s left: d2 starts; 40 s left (< 60 s margin): the rest wait.
    expect(first.domains.map((d) => d.domain)).toEqual(['d1.example', 'd2.example']);
    expect(first.skipped).toEqual(['d3.example', 'd4.example', 'd5.example']);
    expect(first.counts.skipped).toBe(3);
    for (const domain of first.skipped) expect(r.fleet.world(domain).stored).toBeUndefined();
    const warning = r.logs().find((l) => l.reason === 'DeadlineReached');
    expect(warning).toMatchObject({ level: 'warn', skipped: first.skipped, requestId: 'short-1' });
    const aggregate = r.emf().find((d) => !('Domain' in d));
    expect(aggregate).toMatchObject({ DomainsSkipped: 3, Failures: 0 });

    // Warm: the next run starts with the domains left over.
    elapsed = 0;
    const second = asPass(
      await r.handle(
        SCHEDULED,
        fakeContext(() => 100_000 - elapsed, 'short-2'),
      ),
    );
    expect(second.domains.map((d) => d.domain)).toEqual(['d3.example', 'd4.example']);
    expect(second.skipped).toEqual(['d5.example', 'd1.example', 'd2.example']);
  });

  it('takes the carried-over domains first in the order they were carried over, not the config’s', () => {
    const fleet = new Fleet(['a.example', 'b.example', 'c.example', 'd.example']);
    const domains = fleet.loaded().domains;
    // Deferred SES work (d) before domains not started (a), wrapping round the list.
    expect(ordered(domains, ['d.example', 'a.example'], () => 0).map((d) => d.domain)).toEqual([
      'd.example',
      'a.example',
      'b.example',
      'c.example',
    ]);
  });

  it('takes no domain at all when the invocation starts inside the margin', async () => {
    const r = rig(['a.example'], { BYODKIM_DEADLINE_MARGIN_MS: '60000' });
    const response = asPass(
      await r.handle(
        SCHEDULED,
        fakeContext(() => 59_000),
      ),
    );
    expect(response.domains).toEqual([]);
    expect(response.skipped).toEqual(['a.example']);
  });

  it('refuses a margin that is not a number', async () => {
    const r = rig(['a.example'], { BYODKIM_DEADLINE_MARGIN_MS: 'soon' });
    await expect(r.handle(SCHEDULED, fakeContext())).rejects.toMatchObject({ code: 'ENV_INVALID' });
  });
});

describe('Lambda handler: warm cache', () => {
  it('initializes once and reuses the runtime while warm', async () => {
    const r = rig(['a.example']);
    await r.handle(SCHEDULED, fakeContext());
    await r.handle({ action: 'status' }, fakeContext());
    await r.handle.init();
    expect(r.init).toHaveBeenCalledTimes(1);
    expect(r.logs().filter((l) => l.message === 'initialized')).toHaveLength(1);
  });

  it('does not cache a failed init: the invocation fails, the next one tries again', async () => {
    const fleet = new Fleet(['a.example']);
    const lines: string[] = [];
    const init = vi
      .fn<() => Promise<LambdaRuntime>>()
      .mockRejectedValueOnce(
        Object.assign(new Error('config unreadable'), { code: 'CONFIG_SOURCE_UNREADABLE' }),
      )
      .mockResolvedValue(fleet.runtime());
    const handle = createHandler({ init, env: {}, write: (l) => lines.push(l), now: () => fleet.now });
    await expect(handle(SCHEDULED, fakeContext())).rejects.toThrow('config unreadable');
    const failure = JSON.parse(lines.at(-1) ?? '{}');
    expect(failure).toMatchObject({ level: 'error', message: 'cannot start: config unreadable' });
    expect(asPass(await handle(SCHEDULED, fakeContext())).domains).toHaveLength(1);
    expect(init).toHaveBeenCalledTimes(2);
  });
});

describe('Lambda handler: logs and metrics', () => {
  it('writes only JSON lines: engine events with domain, phase, step; EMF per domain and an aggregate', async () => {
    const r = rig(['a.example', 'b.example']);
    const passes = await converge(r);
    const logs = r.logs();
    for (const line of logs) {
      expect(line).toMatchObject({
        timestamp: expect.any(String),
        level: expect.any(String),
        message: expect.any(String),
      });
      if (line.message !== 'initialized')
        expect(line.requestId, JSON.stringify(line)).toEqual(expect.stringMatching(/^pass-\d+$/));
    }
    const published = logs.find((l) => l.step === 'publish' && l.status === 'done');
    expect(published).toMatchObject({ level: 'info', domain: expect.any(String), phase: 4, event: 'step' });
    expect(logs.find((l) => l.message === 'phase_manager done')).toMatchObject({
      counts: expect.any(Object),
    });

    const emf = r.emf();
    const perDomain = emf.filter((d) => 'Domain' in d && !('Region' in d));
    expect(perDomain.length).toBe(passes.length * 2);
    // The gap of each onboarding switch, per domain and region, in the pass that saw SES signing.
    const gaps = emf.filter((d) => 'SigningGapSeconds' in d);
    expect(gaps.map((d) => `${d.Domain}@${d.Region}`).sort()).toEqual([
      'a.example@ap-northeast-1',
      'a.example@us-east-1',
      'b.example@ap-northeast-1',
      'b.example@us-east-1',
    ]);
    for (const doc of emf) {
      const [directive] = directives(doc);
      expect(doc._aws).toMatchObject({ Timestamp: expect.any(Number) });
      expect(directive?.Namespace).toBe('byodkim');
      for (const metric of directive?.Metrics ?? []) expect(doc[metric.Name]).toEqual(expect.any(Number));
    }
    expect(directives(perDomain[0])[0]?.Dimensions).toEqual([['Domain']]);
    const aggregate = emf.filter((d) => !('Domain' in d));
    expect(aggregate).toHaveLength(passes.length);
    expect(directives(aggregate[0])[0]?.Dimensions).toEqual([[]]);

    // One rotation completed per domain (first onboarding), in the pass that promoted it.
    const completed = perDomain.filter((d) => d.RotationsCompleted === 1);
    expect(completed.map((d) => d.Domain).sort()).toEqual(['a.example', 'b.example']);
    expect(aggregate.reduce((n, d) => n + (d.RotationsCompleted as number), 0)).toBe(2);
    // While onboarding the phase ages; once settled it is 0 and the key has its full validity ahead.
    const last = perDomain.slice(-2);
    for (const doc of last) {
      expect(doc.PhaseAgeHours).toBe(0);
      expect(doc.DaysToExpiry).toBeGreaterThan(364);
      expect(doc.DaysToExpiry).toBeLessThanOrEqual(365);
      expect(doc.Failures).toBe(0);
    }
    const waiting = perDomain.filter((d) => (d.PhaseAgeHours as number) > 0);
    expect(waiting.length).toBeGreaterThan(0);
  });

  it('counts failures per domain and in the aggregate', async () => {
    const r = rig(['a.example', 'b.example']);
    await converge(r);
    const world = r.fleet.world('a.example');
    world.advanceDays(340);
    r.fleet.world('b.example').advanceDays(340);
    world.crashAfter = 0; // the next side effect for a.example throws
    const response = asPass(await r.handle(SCHEDULED, fakeContext(undefined, 'fail-1')));
    world.crashAfter = undefined;
    expect(response.ok).toBe(false);
    expect(response.counts.failed).toBe(1);
    const docs = r.emf().filter((d) => d.requestId === 'fail-1');
    expect(docs.find((d) => d.Domain === 'a.example')?.Failures).toBe(1);
    expect(docs.find((d) => d.Domain === 'b.example')?.Failures).toBe(0);
    expect(docs.find((d) => !('Domain' in d))?.Failures).toBe(1);
    expect(
      r.logs().find((l) => l.requestId === 'fail-1' && l.event === 'domain-done' && l.domain === 'a.example'),
    ).toMatchObject({
      level: 'error',
      outcome: 'failed',
    });
  });
});
