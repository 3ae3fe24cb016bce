import { type App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkNag from 'cdk-nag';

export type Json = Record<string, unknown>;

/** cdk-nag AwsSolutions findings that nobody acknowledged (errors and warnings alike). */
export function unacknowledgedNagFindings(stack: Stack): string[] {
  const report = new cdkNag.AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
  return report.violations.map(
    (v) =>
      `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`,
  );
}

export function templateOf(stack: Stack): { template: Template; json: Json } {
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() as Json };
}

export function resourcesOf(json: Json, type: string): Array<[string, Json]> {
  return Object.entries((json.Resources ?? {}) as Record<string, Json>).filter(([, r]) => r.Type === type);
}

export function onlyResource(json: Json, type: string): Json {
  const found = resourcesOf(json, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return (found[0] as [string, Json])[1];
}

export interface PolicyStatementJson {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Json;
  where: string;
}

/**
 * Every identity-policy statement in the template: AWS::IAM::Policy, ManagedPolicy and
 * Role inline policies, plus resource policies of buckets and topics. KMS key policies are
 * left out on purpose: in a key policy, Resource "*" means "this key".
 */
export function policyStatements(json: Json): PolicyStatementJson[] {
  const out: PolicyStatementJson[] = [];
  const collect = (doc: unknown, where: string): void => {
    const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
    for (const s of Array.isArray(statements) ? statements : [])
      out.push({ ...(s as PolicyStatementJson), where });
  };
  for (const [id, r] of Object.entries((json.Resources ?? {}) as Record<string, Json>)) {
    const p = (r.Properties ?? {}) as Json;
    switch (r.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        collect(p.PolicyDocument, id);
        break;
      case 'AWS::IAM::Role':
        for (const inline of (p.Policies as Json[] | undefined) ?? []) collect(inline.PolicyDocument, id);
        break;
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SNS::TopicPolicy':
        collect(p.PolicyDocument, id);
        break;
    }
  }
  return out;
}

export const actionsOf = (s: PolicyStatementJson): string[] =>
  Array.isArray(s.Action) ? s.Action : [s.Action];
export const resourcesOfStatement = (s: PolicyStatementJson): unknown[] =>
  s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource];

/**
 * A small CloudFormation evaluator for tests: resolves Ref, Fn::GetAtt, Fn::Join, Fn::Split,
 * Fn::Select, Fn::If (with Fn::Equals/Not/And/Or conditions) and pseudo parameters, with the
 * given parameter values and fake physical ids (`<LogicalId>` for Ref, `<LogicalId>.<Attr>` for GetAtt).
 */
export function evaluate(value: unknown, json: Json, parameters: Record<string, string | string[]>): unknown {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'ap-northeast-1',
    'AWS::AccountId': '123456789012',
    'AWS::StackName': 'byodkim',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const params = (json.Parameters ?? {}) as Record<string, { Default?: unknown; Type?: string }>;
  const paramValue = (name: string): string | string[] => {
    const given = parameters[name];
    const spec = params[name];
    const raw = given ?? (spec?.Default === undefined ? undefined : String(spec.Default));
    if (raw === undefined) throw new Error(`no value for parameter ${name}`);
    if (spec?.Type === 'CommaDelimitedList' && typeof raw === 'string')
      return raw === '' ? [''] : raw.split(',');
    return raw;
  };
  const conditions = (json.Conditions ?? {}) as Json;
  const condition = (name: string): boolean => Boolean(ev(conditions[name]));
  const ev = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(ev);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Json;
    const [key] = Object.keys(o);
    const arg = key === undefined ? undefined : o[key];
    switch (key) {
      case 'Ref': {
        const name = arg as string;
        if (name in pseudo) return pseudo[name];
        if (name in params) return paramValue(name);
        // Topics are referenced by ARN, which the config schema checks; the rest by name.
        const type = ((json.Resources ?? {}) as Record<string, Json>)[name]?.Type;
        if (type === 'AWS::SNS::Topic') return `arn:aws:sns:ap-northeast-1:123456789012:<${name}>`;
        return `<${name}>`;
      }
      case 'Fn::GetAtt':
        return `<${(arg as string[]).join('.')}>`;
      case 'Fn::Join': {
        const [sep, list] = arg as [string, unknown];
        return (ev(list) as unknown[]).map(String).join(sep);
      }
      case 'Fn::Split': {
        const [sep, s] = arg as [string, unknown];
        return String(ev(s)).split(sep);
      }
      case 'Fn::Select': {
        const [i, list] = arg as [unknown, unknown];
        return (ev(list) as unknown[])[Number(ev(i))];
      }
      case 'Fn::If': {
        const [c, a, b] = arg as [string, unknown, unknown];
        return condition(c) ? ev(a) : ev(b);
      }
      case 'Fn::Equals': {
        const [a, b] = arg as [unknown, unknown];
        return JSON.stringify(ev(a)) === JSON.stringify(ev(b));
      }
      case 'Fn::Not':
        return !ev((arg as unknown[])[0]);
      case 'Fn::And':
        return (arg as unknown[]).every((x) => Boolean(ev(x)));
      case 'Fn::Or':
        return (arg as unknown[]).some((x) => Boolean(ev(x)));
      case 'Condition':
        return condition(arg as string);
      default:
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, ev(x)]));
    }
  };
  return ev(value);
}

/** A synthesized stack's template by name (after app.synth()). */
export function synthesized(app: App, stack: Stack): Json {
  return app.synth().getStackByName(stack.stackName).template as Json;
}

export { Stack };
