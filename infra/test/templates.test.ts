import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { renderTemplates } from '../lib/render-templates.js';
import { buildLambdaTemplateStack, buildSesTemplateStack, TEMPLATE_FILES } from '../lib/templates.js';
import {
  actionsOf,
  evaluate,
  type Json,
  onlyResource,
  type PolicyStatementJson,
  policyStatements,
  resourcesOfStatement,
  unacknowledgedNagFindings,
} from './support.js';

const templatesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../templates');
const rendered = renderTemplates();
const lambdaText = rendered[TEMPLATE_FILES.lambda] as string;
const sesText = rendered[TEMPLATE_FILES.ses] as string;
const lambdaTemplate = parse(lambdaText) as Json;
const sesTemplate = parse(sesText) as Json;

const BASE_PARAMETERS = {
  Domains: 'example.com,example.net',
  Regions: 'ap-northeast-1,us-east-1',
  DKIMCertificatesBucketName: 'acme-dkim-keys',
  CodeBucket: 'acme-artifacts',
};

function configFor(parameters: Record<string, string>): string {
  const parameter = onlyResource(lambdaTemplate, 'AWS::SSM::Parameter').Properties as Json;
  return String(evaluate(parameter.Value, lambdaTemplate, { ...BASE_PARAMETERS, ...parameters }));
}

describe('plain templates', () => {
  it.each(Object.keys(rendered))('templates/%s is up to date (run "npm run templates")', (file) => {
    expect(readFileSync(resolve(templatesDir, file), 'utf8')).toBe(rendered[file]);
  });

  it('need neither CDK assets nor the bootstrap stack', () => {
    for (const text of [lambdaText, sesText]) {
      expect(text).not.toMatch(
        /AssetParameters|cdk-hnb659fds|BootstrapVersion|CDKMetadata|aws:asset:|cdk-[a-z0-9]+-assets/,
      );
    }
    const fn = onlyResource(lambdaTemplate, 'AWS::Lambda::Function').Properties as Json;
    expect(fn.Code).toEqual({ S3Bucket: { Ref: 'CodeBucket' }, S3Key: { Ref: 'CodeKey' } });
  });

  it('take the seeds parameters and the lists of domains and regions', () => {
    expect(Object.keys(lambdaTemplate.Parameters as Json)).toEqual(
      expect.arrayContaining([
        'Domains',
        'Regions',
        'CertificateValidityDays',
        'RenewBeforeDays',
        'DKIMCertificatesBucketName',
        'HostedZoneId',
        'SesConfigurationStackName',
        'CodeBucket',
        'CodeKey',
        'ScheduleExpression',
        'CanaryAddress',
        'CanaryHostedZoneId',
        'CanaryImapHost',
        'CanaryImapUser',
        'CanaryImapSecretName',
      ]),
    );
    expect((lambdaTemplate.Parameters as Record<string, Json>).CertificateValidityDays).toMatchObject({
      Type: 'Number',
      Default: 365,
    });
    const bucket = Object.values(lambdaTemplate.Resources as Record<string, Json>).find(
      (r) => r.Type === 'AWS::S3::Bucket' && (r.Properties as Json).BucketName !== undefined,
    );
    expect((bucket?.Properties as Json | undefined)?.BucketName).toEqual({
      Ref: 'DKIMCertificatesBucketName',
    });
  });

  it('hand the function a config that the CLI parser accepts, every domain in every region', () => {
    const loaded = parseConfig(configFor({ CertificateValidityDays: '200' }), '/ssm/config');
    expect(loaded.domains.map((d) => [d.domain, d.regions])).toEqual([
      ['example.com', ['ap-northeast-1', 'us-east-1']],
      ['example.net', ['ap-northeast-1', 'us-east-1']],
    ]);
    expect(loaded.config.policy).toMatchObject({ validityDays: 200, renewBeforeDays: 30 });
    expect(loaded.config.dns).toEqual({ provider: 'manual', outDir: '/tmp/dns-requests', ttl: 300 });
    expect(loaded.config.keys).toMatchObject({ type: 's3', prefix: 'dkim-keys/' });
  });

  it('switch to Route 53 and grant it only when a hosted zone is given', () => {
    const loaded = parseConfig(configFor({ HostedZoneId: 'Z0123456789ABC' }), '/ssm/config');
    expect(loaded.config.dns).toEqual({ provider: 'route53', hostedZoneId: 'Z0123456789ABC', ttl: 300 });
    const route53 = Object.values(lambdaTemplate.Resources as Record<string, Json>).find((r) =>
      JSON.stringify(r).includes('route53:ChangeResourceRecordSets'),
    );
    expect(route53?.Condition).toBe('HasHostedZone');
    const condition = (lambdaTemplate.Conditions as Json).HasHostedZone;
    expect(evaluate(condition, lambdaTemplate, { HostedZoneId: '' })).toBe(false);
    expect(evaluate(condition, lambdaTemplate, { HostedZoneId: 'Z0123456789ABC' })).toBe(true);
  });

  it('serve 100 domains (the documented limit) through one YAML anchor', () => {
    const domains = Array.from({ length: 100 }, (_, i) => `d${i}.example`).join(',');
    const loaded = parseConfig(configFor({ Domains: domains }), '/ssm/config');
    expect(loaded.domains).toHaveLength(100);
    expect(loaded.domains[99]?.regions).toEqual(['ap-northeast-1', 'us-east-1']);
  });

  it('grant SES on the listed identities only, pinned to the listed regions', () => {
    const statements = policyStatements(lambdaTemplate);
    const ses = statements.find((s) => s.Sid === 'ManageListedSesIdentities');
    if (ses === undefined) throw new Error('no SES statement');
    expect(evaluate(ses.Resource, lambdaTemplate, BASE_PARAMETERS)).toEqual([
      'arn:*:ses:*:*:identity/example.com',
      'arn:*:ses:*:*:identity/example.net',
    ]);
    expect(evaluate(ses.Condition, lambdaTemplate, BASE_PARAMETERS)).toEqual({
      StringEquals: { 'aws:RequestedRegion': ['ap-northeast-1', 'us-east-1'] },
    });
    expect(statements.some((s) => actionsOf(s).includes('ses:CreateEmailIdentity'))).toBe(false);
  });

  it('grant no SES, S3, KMS or Route 53 action on "*" but the region-pinned batched health read', () => {
    for (const s of policyStatements(lambdaTemplate)) {
      if (!actionsOf(s).some((a) => /^(ses|s3|kms|route53):|^\*$/.test(a))) continue;
      if (s.Sid === 'BatchedSesHealthReads') {
        // SES v1 GetIdentityDkimAttributes supports no resource type: "*" only, pinned to the
        // Regions parameter, and alone in its statement.
        expect(actionsOf(s)).toEqual(['ses:GetIdentityDkimAttributes']);
        expect(evaluate(s.Condition, lambdaTemplate, BASE_PARAMETERS)).toEqual({
          StringEquals: { 'aws:RequestedRegion': ['ap-northeast-1', 'us-east-1'] },
        });
        continue;
      }
      const resources = resourcesOfStatement(s).flatMap((r) => {
        const value = evaluate(r, lambdaTemplate, { ...BASE_PARAMETERS, HostedZoneId: 'Z0123456789ABC' });
        return Array.isArray(value) ? value : [value];
      });
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource, `${s.where} ${s.Sid ?? ''}`).not.toBe('*');
    }
  });

  it('create the SES identities with DKIM signing off, retained, one per listed domain', () => {
    expect(sesTemplate.Transform).toBe('AWS::LanguageExtensions');
    const forEach = (sesTemplate.Resources as Json)['Fn::ForEach::SesIdentities'] as [string, Json, Json];
    expect(forEach[0]).toBe('DomainName');
    expect(forEach[1]).toEqual({ Ref: 'Domains' });
    expect(forEach[2]).toEqual({
      'Identity&{DomainName}': {
        Type: 'AWS::SES::EmailIdentity',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: { EmailIdentity: { Ref: 'DomainName' }, DkimAttributes: { SigningEnabled: false } },
      },
    });
  });

  it('deploy the signing canary only when a canary address is given: the SES receiving inbox, or an IMAP mailbox when its host is given', () => {
    const resources = lambdaTemplate.Resources as Record<string, Json>;
    const canaryTypes = ['AWS::SES::ReceiptRuleSet', 'AWS::SES::ReceiptRule', 'AWS::Route53::RecordSet'];
    const canaryIds = Object.entries(resources)
      .filter(([id, r]) => id.includes('Canary') || canaryTypes.includes(String(r.Type)))
      .map(([id]) => id);
    expect(canaryIds.length).toBeGreaterThanOrEqual(9);
    const wantedCondition = (id: string) => {
      if (resources[id]?.Type === 'AWS::Route53::RecordSet') return 'HasCanaryZone';
      if (id.startsWith('RotationCanarySendPolicy')) return 'HasCanary';
      if (id.startsWith('RotationCanaryImapPolicy')) return 'HasCanaryImap';
      return 'HasCanaryInbox';
    };
    for (const id of canaryIds) expect(resources[id]?.Condition, id).toBe(wantedCondition(id));
    const conditions = lambdaTemplate.Conditions as Json;
    const holds = (name: string, parameters: Record<string, string>) =>
      Object.fromEntries(
        ['HasCanary', 'HasCanaryInbox', 'HasCanaryImap', 'HasCanaryZone'].map((c) => [
          c,
          evaluate(conditions[c], lambdaTemplate, parameters),
        ]),
      )[name];
    const address = { CanaryAddress: 'canary@c.example.com' };
    const imap = {
      ...address,
      CanaryImapHost: 'imap.example.com',
      CanaryImapUser: 'canary',
      CanaryImapSecretName: 'canary/imap',
    };
    expect(holds('HasCanary', {})).toBe(false);
    expect(holds('HasCanaryInbox', {})).toBe(false);
    expect(holds('HasCanaryImap', { CanaryImapHost: 'imap.example.com' })).toBe(false);
    expect(holds('HasCanary', address)).toBe(true);
    expect(holds('HasCanaryInbox', address)).toBe(true);
    expect(holds('HasCanaryImap', address)).toBe(false);
    expect(holds('HasCanaryZone', address)).toBe(false);
    expect(holds('HasCanaryZone', { ...address, CanaryHostedZoneId: 'Z0CANARY' })).toBe(true);
    expect(holds('HasCanaryImap', imap)).toBe(true);
    expect(holds('HasCanaryInbox', imap)).toBe(false);
    expect(holds('HasCanaryZone', { ...imap, CanaryHostedZoneId: 'Z0CANARY' })).toBe(false);

    // The function's config: a canary reading the deployed inbox or the IMAP mailbox, or none at all.
    expect(parseConfig(configFor({}), '/ssm/config').config.canary).toBeUndefined();
    const loaded = parseConfig(configFor(address), '/ssm/config');
    const bucketId = Object.keys(resources).find(
      (id) => resources[id]?.Type === 'AWS::S3::Bucket' && id.includes('CanaryInbox'),
    );
    expect(loaded.config.canary).toMatchObject({
      to: 'canary@c.example.com',
      inbox: { type: 's3', bucket: `<${bucketId}>`, prefix: 'canary/', region: 'ap-northeast-1' },
    });
    expect(parseConfig(configFor(imap), '/ssm/config').config.canary).toMatchObject({
      to: 'canary@c.example.com',
      inbox: {
        type: 'imap',
        host: 'imap.example.com',
        port: 993,
        secure: true,
        user: 'canary',
        mailbox: 'INBOX',
        passwordSecret: 'canary/imap',
      },
    });

    // The only statement that lets the function send mail: from the canary address of each domain.
    const send = policyStatements(lambdaTemplate).filter((s) =>
      actionsOf(s).some((a) => /^ses:Send/.test(a)),
    );
    expect(send).toHaveLength(1);
    expect(actionsOf(send[0] as PolicyStatementJson)).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    expect(resources[send[0]?.where ?? '']?.Condition).toBe('HasCanary');
    expect(evaluate(send[0]?.Condition, lambdaTemplate, BASE_PARAMETERS)).toEqual({
      StringEquals: {
        'ses:FromAddress': ['byodkim-canary@example.com', 'byodkim-canary@example.net'],
        'aws:RequestedRegion': ['ap-northeast-1', 'us-east-1'],
      },
    });
    expect(evaluate(send[0]?.Resource, lambdaTemplate, BASE_PARAMETERS)).toEqual([
      'arn:*:ses:*:*:identity/example.com',
      'arn:*:ses:*:*:identity/example.net',
    ]);

    // The IMAP password: that one secret, and no other statement reads secrets the canary's way.
    const secretReads = policyStatements(lambdaTemplate).filter(
      (s) => actionsOf(s).includes('secretsmanager:GetSecretValue') && s.where.startsWith('RotationCanary'),
    );
    expect(secretReads).toHaveLength(1);
    expect(actionsOf(secretReads[0] as PolicyStatementJson)).toEqual(['secretsmanager:GetSecretValue']);
    expect(evaluate(secretReads[0]?.Resource, lambdaTemplate, { ...BASE_PARAMETERS, ...imap })).toBe(
      'arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:canary/imap-??????',
    );

    // Deploy-time rules: a Region with SES receiving when the inbox is deployed; a complete IMAP mailbox when chosen.
    const rules = lambdaTemplate.Rules as Record<
      string,
      { RuleCondition: unknown; Assertions: Array<{ Assert: Json }> }
    >;
    const receiving = Object.entries(rules).find(([id]) => id.includes('ReceivingRegion'))?.[1];
    if (!receiving) throw new Error('no SES receiving Region rule');
    expect(evaluate(receiving.RuleCondition, lambdaTemplate, {})).toBe(false);
    expect(evaluate(receiving.RuleCondition, lambdaTemplate, address)).toBe(true);
    expect(evaluate(receiving.RuleCondition, lambdaTemplate, imap)).toBe(false);
    const contains = receiving.Assertions[0]?.Assert['Fn::Contains'] as [string[], unknown];
    expect(contains[0]).toEqual(expect.arrayContaining(['us-east-1', 'eu-west-1', 'ap-northeast-1']));
    expect(contains[0]).not.toContain('ap-east-1');
    expect(contains[1]).toEqual({ Ref: 'AWS::Region' });
    const complete = rules.CanaryImapComplete;
    if (!complete) throw new Error('no CanaryImapComplete rule');
    expect(evaluate(complete.RuleCondition, lambdaTemplate, address)).toBe(false);
    expect(evaluate(complete.RuleCondition, lambdaTemplate, imap)).toBe(true);
    const assertion = complete.Assertions[0]?.Assert;
    expect(evaluate(assertion, lambdaTemplate, imap)).toBe(true);
    expect(evaluate(assertion, lambdaTemplate, { ...imap, CanaryImapSecretName: '' })).toBe(false);
    expect(evaluate(assertion, lambdaTemplate, { ...imap, CanaryImapUser: '' })).toBe(false);
  });

  it('report nothing unacknowledged to cdk-nag AwsSolutions', () => {
    const app = new App();
    expect(unacknowledgedNagFindings(buildLambdaTemplateStack(app))).toEqual([]);
    expect(unacknowledgedNagFindings(buildSesTemplateStack(app))).toEqual([]);
  });

  it.skipIf(!hasCfnLint() && !process.env.CI)('pass cfn-lint', () => {
    const files = Object.keys(rendered).map((f) => resolve(templatesDir, f));
    expect(() => execFileSync('cfn-lint', files, { stdio: 'pipe' })).not.toThrow();
  });
});

function hasCfnLint(): boolean {
  try {
    execFileSync('cfn-lint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
