/**
 * The member-account role, checked from the synthesized templates alone (parsed JSON and the
 * committed YAML, evaluated with a small CloudFormation evaluator), not from the construct's
 * own objects: it grants only SES's BYODKIM actions on that account's identities, and trusts
 * only the central function's role with the external ID. The granted SES actions are compared
 * with the commands byodkim's SES adapters actually send.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ByodkimMemberRole, type ByodkimMemberRoleProps } from '../lib/member-role.js';
import { buildMemberRoleTemplateStack } from '../lib/member-role-template.js';
import { TEMPLATE_FILES } from '../lib/templates.js';
import { evaluate, type Json, templateOf, unacknowledgedNagFindings } from './support.js';

const MEMBER = '111111111111';
const CENTRAL_ROLE = 'arn:aws:iam::123456789012:role/Byodkim-RotationRole-ABC';
const EXTERNAL_ID = 'byodkim-7c1e4f';
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The SES commands byodkim's SES adapters send, read from their source. */
function productSesActions(): string[] {
  const files = ['src/adapters/aws/ses.ts', 'src/adapters/aws/health.ts', 'src/adapters/aws/ses-mail.ts'];
  const names = files.flatMap((f) =>
    [...readFileSync(resolve(repo, f), 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => `ses:${m[1]}`),
  );
  return [...new Set(names)].sort();
}

function memberStack(props: Partial<ByodkimMemberRoleProps> = {}): Stack {
  const stack = new Stack(new App(), 'Member', { env: { account: MEMBER, region: 'eu-west-1' } });
  new ByodkimMemberRole(stack, 'Member', { centralRoleArn: CENTRAL_ROLE, externalId: EXTERNAL_ID, ...props });
  return stack;
}

interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Json;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The one role of a template, and every statement that grants it something (inline or attached). */
function roleOf(json: Json): { trust: Statement[]; grants: Statement[] } {
  const resources = Object.entries((json.Resources ?? {}) as Record<string, Json>);
  const roles = resources.filter(([, r]) => r.Type === 'AWS::IAM::Role');
  expect(roles).toHaveLength(1);
  const [roleId, role] = roles[0] as [string, Json];
  const props = role.Properties as Json;
  const grants: Statement[] = [];
  for (const inline of (props.Policies as Json[] | undefined) ?? [])
    grants.push(...((inline.PolicyDocument as Json).Statement as Statement[]));
  for (const [, r] of resources) {
    if (r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::User' || r.Type === 'AWS::IAM::Group')
      throw new Error(`unexpected ${r.Type}`);
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const p = r.Properties as Json;
    expect(p.Roles).toEqual([{ Ref: roleId }]);
    grants.push(...((p.PolicyDocument as Json).Statement as Statement[]));
  }
  expect(props.ManagedPolicyArns).toBeUndefined();
  expect(props.PermissionsBoundary).toBeUndefined();
  return { trust: (props.AssumeRolePolicyDocument as Json).Statement as Statement[], grants };
}

/** What the checks below allow: the BYODKIM actions, each on the account's identities only. */
function checkGrants(grants: Statement[], resolve: (v: unknown) => unknown, identityArn: RegExp): string[] {
  const granted = new Set<string>();
  for (const s of grants) {
    expect(s.Effect).toBe('Allow');
    expect(s.NotAction).toBeUndefined();
    expect(s.NotResource).toBeUndefined();
    const resources = list(resolve(s.Resource) as string | string[]);
    for (const action of list(s.Action)) {
      granted.add(action);
      if (action === 'ses:GetIdentityDkimAttributes') {
        // SES v1 has no resource type for it: "*", which in this account is this account's identities.
        expect(resources).toEqual(['*']);
        continue;
      }
      if (action.startsWith('route53:')) continue; // checked by its own test
      expect(action, 'an SES BYODKIM action').toMatch(
        /^ses:(GetEmailIdentity|PutEmailIdentityDkimSigningAttributes|PutEmailIdentityDkimAttributes|CreateEmailIdentity|SendEmail|SendRawEmail)$/,
      );
      expect(resources.length).toBeGreaterThan(0);
      for (const r of resources) expect(r, action).toMatch(identityArn);
    }
  }
  return [...granted].sort();
}

describe('ByodkimMemberRole (CDK)', () => {
  const { json } = templateOf(memberStack());
  const resolveIn = (v: unknown) => evaluate(v, json, {});
  const ownIdentities = /^arn:aws:ses:\*:123456789012:identity\/\*$/; // the evaluator's AWS::AccountId

  it('trusts only the central function’s role, and only with the external ID', () => {
    const { trust } = roleOf(json);
    expect(trust).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: CENTRAL_ROLE },
        Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
      },
    ]);
  });

  it('grants only SES BYODKIM actions, on the account’s own identities', () => {
    const { grants } = roleOf(json);
    expect(checkGrants(grants, resolveIn, ownIdentities)).toEqual([
      'ses:GetEmailIdentity',
      'ses:GetIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimSigningAttributes',
    ]);
  });

  it('with every option, grants what byodkim’s SES adapters call (ListEmailIdentities only ever lists the own account)', () => {
    const stack = memberStack({
      createIdentity: true,
      canaryFromAddresses: ['byodkim-canary@*'],
      regions: ['eu-west-1', 'us-east-1'],
    });
    const full = templateOf(stack).json;
    const granted = checkGrants(
      roleOf(full).grants,
      (v) => evaluate(v, full, {}),
      /^arn:aws:ses:(eu-west-1|us-east-1):123456789012:identity\/\*$/,
    );
    // SES v2 SendEmail with raw content is authorized as ses:SendRawEmail: both, for the canary.
    expect(granted).toEqual(
      [...productSesActions().filter((a) => a !== 'ses:ListEmailIdentities'), 'ses:SendRawEmail'].sort(),
    );
    const send = roleOf(full).grants.find((s) => list(s.Action).includes('ses:SendEmail'));
    expect(send?.Condition).toEqual({ StringLike: { 'ses:FromAddress': ['byodkim-canary@*'] } });
    // Regions given: the resource-less v1 read is pinned to them.
    const batch = roleOf(full).grants.find((s) => list(s.Action).includes('ses:GetIdentityDkimAttributes'));
    expect(batch?.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } });
  });

  it('changes Route 53 records only in the zones given, TXT under _domainkey only', () => {
    const stack = memberStack({ hostedZoneIds: ['Z0MEMBER'] });
    const full = templateOf(stack).json;
    const route53 = roleOf(full).grants.filter((s) => list(s.Action).some((a) => a.startsWith('route53:')));
    const change = route53.find((s) => list(s.Action).includes('route53:ChangeResourceRecordSets'));
    expect(list(evaluate(change?.Resource, full, {}) as string | string[])).toEqual([
      'arn:aws:route53:::hostedzone/Z0MEMBER',
    ]);
    expect(change?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['*._domainkey.*'],
      },
    });
    expect(route53.flatMap((s) => list(s.Action)).sort()).toEqual([
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'route53:ListResourceRecordSets',
    ]);
  });

  it('reports nothing unacknowledged to cdk-nag AwsSolutions, with or without options', () => {
    expect(unacknowledgedNagFindings(memberStack())).toEqual([]);
    expect(
      unacknowledgedNagFindings(
        memberStack({
          createIdentity: true,
          canaryFromAddresses: ['byodkim-canary@*'],
          hostedZoneIds: ['Z0MEMBER'],
        }),
      ),
    ).toEqual([]);
  });
});

describe('templates/byodkim-member-role.yaml (StackSets)', () => {
  const text = readFileSync(resolve(repo, 'templates', TEMPLATE_FILES.memberRole), 'utf8');
  const template = parse(text) as Json;
  const params = { CentralRoleArn: CENTRAL_ROLE, ExternalId: EXTERNAL_ID };
  const statementsWith = (p: Record<string, string>): Statement[] => {
    // Conditional policies exist only when their condition holds.
    const conditions = (template.Conditions ?? {}) as Json;
    const kept: Json = { ...template, Resources: {} };
    for (const [id, r] of Object.entries(template.Resources as Record<string, Json>)) {
      const c = r.Condition as string | undefined;
      if (c === undefined || evaluate(conditions[c], template, p) === true) (kept.Resources as Json)[id] = r;
    }
    return roleOf(kept).grants;
  };

  it('trusts only the CentralRoleArn parameter with the ExternalId parameter', () => {
    const trust = evaluate(roleOf(template).trust, template, params);
    expect(trust).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: CENTRAL_ROLE },
        Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
      },
    ]);
  });

  it('grants only SES BYODKIM actions on the account’s identities; creating them only when asked', () => {
    const identities = /^arn:aws:ses:\*:123456789012:identity\/\*$/;
    const base = checkGrants(statementsWith(params), (v) => evaluate(v, template, params), identities);
    expect(base).toEqual([
      'ses:GetEmailIdentity',
      'ses:GetIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimSigningAttributes',
    ]);
    const creating = { ...params, AllowCreateIdentity: 'true' };
    expect(checkGrants(statementsWith(creating), (v) => evaluate(v, template, creating), identities)).toEqual(
      [...base, 'ses:CreateEmailIdentity'].sort(),
    );
    const canary = { ...params, CanaryFromAddress: 'byodkim-canary@*' };
    const withCanary = statementsWith(canary);
    expect(checkGrants(withCanary, (v) => evaluate(v, template, canary), identities)).toEqual(
      [...base, 'ses:SendEmail', 'ses:SendRawEmail'].sort(),
    );
    const send = withCanary.find((s) => list(s.Action).includes('ses:SendEmail'));
    expect(evaluate(send?.Condition, template, canary)).toEqual({
      StringLike: { 'ses:FromAddress': ['byodkim-canary@*'] },
    });
  });

  it('is what the construct synthesizes, and cdk-nag clean', () => {
    expect(unacknowledgedNagFindings(buildMemberRoleTemplateStack(new App()))).toEqual([]);
    expect(Object.keys(template.Parameters as Json).sort()).toEqual(
      [
        'AllowCreateIdentity',
        'CanaryFromAddress',
        'CentralRoleArn',
        'ExternalId',
        'HostedZoneId',
        'RoleName',
      ].sort(),
    );
  });
});
