/**
 * The handler with `accounts` in the config: an invocation per account runs only that
 * account's domains (the deployment's per-account rules send `"account"`), the response and
 * the EMF metrics carry each domain's account, and an unknown account is bad input that
 * changes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../../src/config/load.js';
import { parseEvent } from '../../../src/lambda/events.js';
import { createHandler, type HandlerResponse, type PassResponse } from '../../../src/lambda/handler.js';
import { Fleet, fakeContext } from './fleet.js';

const ACCOUNT_OF: Record<string, string | undefined> = {
  'a1.example': 'brand-a',
  'a2.example': 'brand-a',
  'b1.example': 'brand-b',
  'own.example': undefined,
};

function rig() {
  const fleet = new Fleet(Object.keys(ACCOUNT_OF));
  const base = fleet.loaded();
  const loaded: LoadedConfig = {
    ...base,
    config: {
      ...base.config,
      accounts: [
        { name: 'brand-a', roleArn: 'arn:aws:iam::111111111111:role/byodkim-member', externalId: 'ext-a' },
        { name: 'brand-b', roleArn: 'arn:aws:iam::222222222222:role/byodkim-member', externalId: 'ext-b' },
      ],
    },
    domains: base.domains.map((d) => {
      const account = ACCOUNT_OF[d.domain];
      return account === undefined ? d : { ...d, account };
    }),
  };
  const lines: string[] = [];
  const handle = createHandler({
    init: async () => ({ loaded, deps: fleet.deps(), source: 'fleet' }),
    env: { BYODKIM_CONCURRENCY: '1' },
    write: (line) => lines.push(line),
    now: () => fleet.now,
    random: () => 0,
  });
  const emf = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => '_aws' in l);
  return { fleet, handle, emf, lines };
}

function asPass(response: HandlerResponse): PassResponse {
  if (!('counts' in response)) throw new Error(`not a pass: ${JSON.stringify(response)}`);
  return response;
}

describe('Lambda handler: one run per account', () => {
  it("runs only the named account's domains, and says whose each domain is", async () => {
    const r = rig();
    const a = asPass(await r.handle({ action: 'phase_manager', account: 'brand-a' }, fakeContext()));
    expect(a.account).toBe('brand-a');
    expect(a.domains.map((d) => [d.domain, d.account]).sort()).toEqual([
      ['a1.example', 'brand-a'],
      ['a2.example', 'brand-a'],
    ]);
    expect(r.fleet.leases.map((l) => l.split(' ')[0]).sort()).toEqual(['a1.example', 'a2.example']);
    const own = asPass(await r.handle({ action: 'phase_manager', account: 'own' }, fakeContext()));
    expect(own.domains.map((d) => [d.domain, d.account])).toEqual([['own.example', 'own']]);
    // No "account": every domain, each labelled.
    const all = asPass(await r.handle({ action: 'status' }, fakeContext()));
    expect(all.domains.map((d) => [d.domain, d.account]).sort()).toEqual([
      ['a1.example', 'brand-a'],
      ['a2.example', 'brand-a'],
      ['b1.example', 'brand-b'],
      ['own.example', 'own'],
    ]);
  });

  it('publishes each domain metric by Domain (the alarms) and by Account and Domain', async () => {
    const r = rig();
    await r.handle({ action: 'phase_manager', account: 'brand-b' }, fakeContext());
    const perDomain = r.emf().filter((d) => d.Domain === 'b1.example');
    expect(perDomain).toHaveLength(1);
    const doc = perDomain[0] as Record<string, unknown>;
    expect(doc.Account).toBe('brand-b');
    const directive = (doc._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> })
      .CloudWatchMetrics[0];
    expect(directive?.Dimensions).toEqual([['Domain'], ['Account', 'Domain']]);
    expect(r.emf().some((d) => d.Domain !== undefined && d.Domain !== 'b1.example')).toBe(false);
  });

  it('refuses an account the config does not have, naming it, and changes nothing', async () => {
    const r = rig();
    const response = await r.handle({ action: 'phase_manager', account: 'brand-z' }, fakeContext());
    expect(response).toMatchObject({
      ok: false,
      error: { code: 'ACCOUNT_UNKNOWN', field: 'account', value: 'brand-z' },
    });
    expect((response as { error: { message: string } }).error.message).toContain(
      'account: "brand-z" is not an account of fleet (accounts: own, brand-a, brand-b)',
    );
    expect(r.fleet.leases).toEqual([]);
  });

  it('refuses a domain outside the named account', async () => {
    const r = rig();
    const response = await r.handle(
      { action: 'phase_manager', account: 'brand-a', domain: 'b1.example' },
      fakeContext(),
    );
    expect(response).toMatchObject({ ok: false, error: { code: 'DOMAIN_NOT_IN_ACCOUNT', field: 'domain' } });
    expect(r.fleet.leases).toEqual([]);
  });

  it('reads "account" only where it means something', () => {
    expect(parseEvent({ action: 'status', account: 'brand-a' })).toEqual({
      action: 'status',
      trigger: 'direct',
      account: 'brand-a',
    });
    expect(() => parseEvent({ action: 'rotate', domain: 'a1.example', account: 'brand-a' })).toThrow(
      'account: "brand-a" applies only to "phase_manager" and "status", not "rotate"',
    );
    expect(() => parseEvent({ action: 'phase_manager', account: 'Brand A' })).toThrow(
      'account: "Brand A" is not an account name',
    );
  });
});
