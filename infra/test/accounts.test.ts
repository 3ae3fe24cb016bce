/**
 * ByodkimRotation with member accounts, read from the synthesized template: one schedule per
 * account (each its own invocation, so one account's run never waits for another's), enough
 * reserved concurrency for all of them to run at once, sts:AssumeRole on exactly the member
 * roles, SES permissions of this role only for the own account's domains, and a config the
 * function's own parser reads with every domain in its account.
 */
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ByodkimRotation, type ByodkimRotationProps } from '../lib/byodkim-rotation.js';
import {
  actionsOf,
  evaluate,
  type Json,
  onlyResource,
  policyStatements,
  resourcesOf,
  resourcesOfStatement,
  templateOf,
  unacknowledgedNagFindings,
} from './support.js';

const ACCOUNTS = [
  {
    name: 'brand-a',
    roleArn: 'arn:aws:iam::111111111111:role/byodkim-member',
    externalId: 'ext-a',
    regions: ['eu-west-1'],
  },
  { name: 'brand-b', roleArn: 'arn:aws:iam::222222222222:role/byodkim-member', externalId: 'ext-b' },
];
const DOMAINS: ByodkimRotationProps['domains'] = [
  { domain: 'own.example', regions: ['us-east-1'], createIdentity: true },
  { domain: 'a.example', regions: ['eu-west-1'], account: 'brand-a', createIdentity: true },
  {
    domain: 'b.example',
    regions: ['us-east-1'],
    account: 'brand-b',
    dns: { provider: 'route53', hostedZoneId: 'Z0BRANDB', account: 'brand-b' },
  },
];

function build(overrides: Partial<ByodkimRotationProps> = {}): Stack {
  const stack = new Stack(new App(), 'Fleet', { env: { account: '123456789012', region: 'us-east-1' } });
  new ByodkimRotation(stack, 'Rotation', {
    domains: DOMAINS,
    accounts: ACCOUNTS,
    config: { dns: { provider: 'route53', hostedZoneId: 'Z0OWN' } },
    ...overrides,
  });
  return stack;
}

const stack = build();
const { json } = templateOf(stack);

describe('ByodkimRotation with accounts', () => {
  it('starts one run per account on the schedule, the own account’s included', () => {
    const inputs = resourcesOf(json, 'AWS::Events::Rule')
      .filter(([, r]) => (r.Properties as Json).ScheduleExpression !== undefined)
      .flatMap(([, r]) => ((r.Properties as Json).Targets as Json[]).map((t) => JSON.parse(String(t.Input))));
    expect(inputs).toEqual(
      expect.arrayContaining([
        { action: 'phase_manager', account: 'own' },
        { action: 'phase_manager', account: 'brand-a' },
        { action: 'phase_manager', account: 'brand-b' },
      ]),
    );
    expect(inputs).toHaveLength(3);
    // Every run can start at once: none waits for a slot another account's run holds.
    const fn = onlyResource(json, 'AWS::Lambda::Function').Properties as Json;
    expect(fn.ReservedConcurrentExecutions).toBe(3);
  });

  it('may assume exactly the member roles, and touches no member account’s SES or zone itself', () => {
    const statements = policyStatements(json);
    const assume = statements.filter((s) => actionsOf(s).includes('sts:AssumeRole'));
    expect(assume).toHaveLength(1);
    expect(assume[0]?.Effect).toBe('Allow');
    expect(actionsOf(assume[0] as never)).toEqual(['sts:AssumeRole']);
    expect(resourcesOfStatement(assume[0] as never).sort()).toEqual(ACCOUNTS.map((a) => a.roleArn).sort());
    const ses = statements
      // The batched health read (no resource type, "*" pinned to regions) reads only the own
      // account: SES v1 acts on the caller's identities.
      .filter((s) => actionsOf(s).some((a) => a.startsWith('ses:') && a !== 'ses:GetIdentityDkimAttributes'))
      .flatMap((s) => resourcesOfStatement(s).map((r) => String(evaluate(r, json, {}))));
    expect(ses.length).toBeGreaterThan(0);
    for (const arn of ses) expect(arn).toMatch(/^arn:aws:ses:us-east-1:123456789012:identity\/own\.example$/);
    // Route 53: the own zone; brand-b's zone is changed through brand-b's role, not this one.
    const granted = JSON.stringify(statements.map((s) => evaluate(s.Resource, json, {})));
    expect(granted).toContain('hostedzone/Z0OWN');
    expect(granted).not.toContain('Z0BRANDB');
  });

  it('hands the function a config its parser reads: the accounts, and each domain in its account', () => {
    const value = (onlyResource(json, 'AWS::SSM::Parameter').Properties as Json).Value;
    const loaded = parseConfig(String(evaluate(value, json, {})), '/ssm/byodkim-config');
    expect(loaded.config.accounts).toEqual(ACCOUNTS);
    expect(loaded.domains.map((d) => [d.domain, d.account])).toEqual([
      ['own.example', undefined],
      ['a.example', 'brand-a'],
      ['b.example', 'brand-b'],
    ]);
    expect(loaded.domains[2]?.dns).toMatchObject({ provider: 'route53', account: 'brand-b' });
  });

  it('reports nothing unacknowledged to cdk-nag AwsSolutions', () => {
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });

  it('refuses too little concurrency for the runs, an unknown account, and two entries for one account', () => {
    expect(() => build({ reservedConcurrentExecutions: 2 })).toThrow(
      'reservedConcurrentExecutions 2 is fewer than the 3 scheduled runs',
    );
    expect(() =>
      build({ domains: [{ domain: 'z.example', regions: ['us-east-1'], account: 'brand-z' }] }),
    ).toThrow('domains[0].account "brand-z" is not in accounts');
    expect(() =>
      build({ accounts: [...ACCOUNTS, { ...(ACCOUNTS[0] as (typeof ACCOUNTS)[number]), name: 'brand-c' }] }),
    ).toThrow('account 111111111111 is listed twice');
  });

  it('without accounts, keeps one schedule for every domain and one run at a time', () => {
    const single = templateOf(
      build({ accounts: [], domains: [{ domain: 'own.example', regions: ['us-east-1'] }] }),
    ).json;
    const fn = onlyResource(single, 'AWS::Lambda::Function').Properties as Json;
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    const scheduled = resourcesOf(single, 'AWS::Events::Rule').filter(
      ([, r]) => (r.Properties as Json).ScheduleExpression !== undefined,
    );
    expect(
      scheduled.map(([, r]) => JSON.parse(String(((r.Properties as Json).Targets as Json[])[0]?.Input))),
    ).toEqual([{ action: 'phase_manager' }]);
  });
});
