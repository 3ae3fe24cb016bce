import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, aws_kms as kms, Stack, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ByodkimRotation, type ByodkimRotationProps } from '../lib/byodkim-rotation.js';
import type { ByodkimCanary } from '../lib/canary-inbox.js';
import { SES_RECEIVING_REGIONS } from '../lib/ses-receiving.js';
import {
  actionsOf,
  evaluate,
  type Json,
  onlyResource,
  type PolicyStatementJson,
  policyStatements,
  resourcesOf,
  resourcesOfStatement,
  templateOf,
  unacknowledgedNagFindings,
} from './support.js';

const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const CANARY_TO = 'canary@canary.example.com';

function build(
  canary: ByodkimCanary | ((stack: Stack) => ByodkimCanary) | undefined,
  overrides: Partial<ByodkimRotationProps> & { region?: string } = {},
) {
  const { region, ...rest } = overrides;
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: region ?? REGION } });
  if (typeof canary === 'function') canary = canary(stack);
  const rotation = new ByodkimRotation(stack, 'Rotation', {
    domains: [
      { domain: 'example.com', regions: ['ap-northeast-1', 'us-east-1'] },
      { domain: 'example.net', regions: ['eu-west-1'] },
    ],
    config: { dns: { provider: 'route53', hostedZoneId: 'Z0123456789ABC' } },
    ...(canary ? { canary } : {}),
    ...rest,
  });
  return { stack, rotation, ...templateOf(stack) };
}

const withCanary = build({ to: CANARY_TO, hostedZoneId: 'Z0CANARY' });
const json = withCanary.json;

function idOf(type: string, match?: (r: Json) => boolean): string {
  const found = resourcesOf(json, type).filter(([, r]) => match?.(r) ?? true);
  expect(found, type).toHaveLength(1);
  return (found[0] as [string, Json])[0];
}

const inboxKeyId = idOf('AWS::KMS::Key', (r) =>
  String((r.Properties as Json).Description).includes('canary'),
);
const dkimKeyId = idOf('AWS::KMS::Key', (r) =>
  String((r.Properties as Json).Description).includes('private keys'),
);
const inboxBucketId = idOf('AWS::S3::Bucket', (r) =>
  JSON.stringify(r).includes(`"KMSMasterKeyID":{"Fn::GetAtt":["${inboxKeyId}"`),
);
const ruleSetId = idOf('AWS::SES::ReceiptRuleSet');
const rule = onlyResource(json, 'AWS::SES::ReceiptRule');
const ruleName = ((rule.Properties as Json).Rule as Json).Name as string;
/** The receipt rule's ARN, as SES puts it in aws:SourceArn (Ref shown as `<LogicalId>`). */
const ruleArn = `arn:aws:ses:${REGION}:${ACCOUNT}:receipt-rule-set/<${ruleSetId}>:receipt-rule/${ruleName}`;

const resolved = (value: unknown) => evaluate(value, json, {});

describe('ByodkimRotation canary: the inbox', () => {
  it('creates a receipt rule set and a rule that stores mail for the canary address only, over TLS, under the prefix', () => {
    expect(rule.Properties).toEqual({
      RuleSetName: { Ref: ruleSetId },
      Rule: {
        Name: ruleName,
        Enabled: true,
        Recipients: [CANARY_TO],
        ScanEnabled: true,
        TlsPolicy: 'Require',
        Actions: [{ S3Action: { BucketName: { Ref: inboxBucketId }, ObjectKeyPrefix: 'canary/' } }],
      },
    });
    // SES checks its write access when the rule is created: the policies come first.
    const bucketPolicyId = idOf('AWS::S3::BucketPolicy', (r) =>
      JSON.stringify((r.Properties as Json).Bucket).includes(inboxBucketId),
    );
    expect(rule.DependsOn).toEqual(expect.arrayContaining([bucketPolicyId, inboxKeyId]));
  });

  it('keeps the mail in a private SSE-KMS bucket with its own key, access logs, and expiry as retention', () => {
    withCanary.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [inboxKeyId, 'Arn'] },
            },
            BucketKeyEnabled: true,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'canary-inbox/' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          { Id: 'expire-canary-mail', Prefix: 'canary/', ExpirationInDays: 7, Status: 'Enabled' },
        ]),
      },
    });
    const expiry = build({ to: CANARY_TO, inboxExpiration: Duration.days(2) });
    expect(JSON.stringify(expiry.json)).toContain('"ExpirationInDays":2,"Id":"expire-canary-mail"');
    expect(() => build({ to: CANARY_TO, inboxExpiration: Duration.hours(12) })).toThrow(/at least 1 day/);
  });

  it('lets SES write only under the prefix, only for this account and this receipt rule', () => {
    const statements = policyStatements(json).filter(
      (s) => JSON.stringify(s).includes('ses.amazonaws.com') && s.where.includes('Bucket'),
    );
    expect(statements).toHaveLength(1);
    const [put] = statements as [PolicyStatementJson];
    expect(put.Effect).toBe('Allow');
    expect(actionsOf(put)).toEqual(['s3:PutObject']);
    expect(resolved(put.Resource)).toBe(`<${inboxBucketId}.Arn>/canary/*`);
    expect(resolved(put.Condition)).toEqual({
      StringEquals: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': ruleArn },
    });
  });

  it('lets SES encrypt with the inbox key only, under the same conditions; the DKIM key is never offered to SES', () => {
    const keyPolicy = (id: string) => {
      const key = resourcesOf(json, 'AWS::KMS::Key').find(([k]) => k === id);
      if (!key) throw new Error(`no key ${id}`);
      return ((key[1].Properties as Json).KeyPolicy as { Statement: Json[] }).Statement;
    };
    const ses = keyPolicy(inboxKeyId).filter((s) =>
      JSON.stringify(s.Principal).includes('ses.amazonaws.com'),
    );
    expect(ses).toHaveLength(1);
    expect(ses[0]).toMatchObject({ Effect: 'Allow', Action: 'kms:GenerateDataKey*' });
    expect(resolved(ses[0]?.Condition)).toEqual({
      StringEquals: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': ruleArn },
    });
    expect(JSON.stringify(keyPolicy(dkimKeyId))).not.toContain('ses.amazonaws.com');
  });

  it('publishes the MX record to SES receiving in the Route 53 zone given, and none without one', () => {
    const mx = onlyResource(json, 'AWS::Route53::RecordSet').Properties as Json;
    expect(resolved(mx)).toEqual({
      HostedZoneId: 'Z0CANARY',
      Name: 'canary.example.com',
      Type: 'MX',
      TTL: '300',
      ResourceRecords: [`10 inbound-smtp.${REGION}.amazonaws.com`],
    });
    const noZone = build({ to: CANARY_TO });
    expect(resourcesOf(noZone.json, 'AWS::Route53::RecordSet')).toEqual([]);
  });

  it('adds the rule to an existing rule set when named, and creates none', () => {
    const existing = build({ to: CANARY_TO, receiptRuleSetName: 'my-active-rules' });
    expect(resourcesOf(existing.json, 'AWS::SES::ReceiptRuleSet')).toEqual([]);
    const props = onlyResource(existing.json, 'AWS::SES::ReceiptRule').Properties as Json;
    expect(props.RuleSetName).toBe('my-active-rules');
    const name = (props.Rule as Json).Name as string;
    const put = policyStatements(existing.json).find((s) => JSON.stringify(s).includes('ses.amazonaws.com'));
    expect(evaluate(put?.Condition, existing.json, {})).toMatchObject({
      StringEquals: {
        'aws:SourceArn': `arn:aws:ses:${REGION}:${ACCOUNT}:receipt-rule-set/my-active-rules:receipt-rule/${name}`,
      },
    });
  });

  it('refuses a Region without SES receiving, naming it and where receiving exists', () => {
    expect(() => build({ to: CANARY_TO }, { region: 'ap-east-1' })).toThrow(
      /canary inbox needs SES receiving, which ap-east-1 does not offer; deploy the stack in one of .*us-east-1/,
    );
    expect(() => build({ to: 'not-an-address' })).toThrow(
      /canary.to "not-an-address" is not an email address/,
    );
  });

  it('deploys nothing of the canary without one', () => {
    const plain = build(undefined);
    for (const type of ['AWS::SES::ReceiptRuleSet', 'AWS::SES::ReceiptRule', 'AWS::Route53::RecordSet'])
      expect(resourcesOf(plain.json, type), type).toEqual([]);
    expect(plain.rotation.canaryInbox).toBeUndefined();
    expect(policyStatements(plain.json).some((s) => actionsOf(s).includes('ses:SendEmail'))).toBe(false);
  });

  it('reports nothing unacknowledged to cdk-nag AwsSolutions', () => {
    expect(unacknowledgedNagFindings(withCanary.stack)).toEqual([]);
    const app = new App();
    const agnostic = new Stack(app, 'Agnostic');
    new ByodkimRotation(agnostic, 'Rotation', {
      domains: [{ domain: 'example.com', regions: ['us-east-1'] }],
      sesIdentityScope: 'account',
      canary: { to: CANARY_TO },
    });
    expect(unacknowledgedNagFindings(agnostic)).toEqual([]);
  });
});

describe('ByodkimRotation canary: what the function may do', () => {
  const inboxStatements = policyStatements(json).filter((s) =>
    s.where.startsWith('RotationCanaryInboxPolicy'),
  );

  it('reads and deletes inbox objects under the prefix only, lists only the prefix, decrypts only through S3', () => {
    const s3 = inboxStatements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.map((s) => [actionsOf(s), resolved(s.Resource), resolved(s.Condition)])).toEqual([
      [['s3:GetObject', 's3:DeleteObject'], `<${inboxBucketId}.Arn>/canary/*`, undefined],
      [['s3:ListBucket'], `<${inboxBucketId}.Arn>`, { StringLike: { 's3:prefix': ['canary/*'] } }],
    ]);
    const kms = inboxStatements.find((s) => actionsOf(s).includes('kms:Decrypt'));
    expect(resolved(kms?.Resource)).toBe(`<${inboxKeyId}.Arn>`);
    expect(resolved(kms?.Condition)).toEqual({
      StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` },
    });
    // Nothing else of the function reaches the inbox bucket.
    const elsewhere = policyStatements(json).filter(
      (s) =>
        !s.where.startsWith('RotationCanaryInboxPolicy') &&
        !s.where.includes('BucketPolicy') &&
        JSON.stringify(s.Resource ?? '').includes(inboxBucketId),
    );
    expect(elsewhere).toEqual([]);
  });

  it('sends mail only as the canary address of each domain, from the identities it manages', () => {
    const send = policyStatements(json).filter((s) => actionsOf(s).some((a) => /^ses:Send/.test(a)));
    expect(send).toHaveLength(1);
    const [statement] = send as [PolicyStatementJson];
    // SES v2 SendEmail is authorized as SendEmail (simple content) or SendRawEmail (raw).
    expect(actionsOf(statement)).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    expect(resolved(statement.Condition)).toEqual({
      StringEquals: { 'ses:FromAddress': ['byodkim-canary@example.com', 'byodkim-canary@example.net'] },
    });
    expect(resourcesOfStatement(statement).map(resolved).sort()).toEqual(
      [
        `arn:aws:ses:ap-northeast-1:${ACCOUNT}:identity/example.com`,
        `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`,
        `arn:aws:ses:eu-west-1:${ACCOUNT}:identity/example.net`,
      ].sort(),
    );
    const custom = build({ to: CANARY_TO, from: 'dkim-probe@{domain}' });
    const customSend = policyStatements(custom.json).find((s) => actionsOf(s).includes('ses:SendRawEmail'));
    expect(evaluate(customSend?.Condition, custom.json, {})).toEqual({
      StringEquals: { 'ses:FromAddress': ['dkim-probe@example.com', 'dkim-probe@example.net'] },
    });
  });

  it('hands the function a config whose canary reads the deployed inbox', () => {
    const parameter = onlyResource(json, 'AWS::SSM::Parameter').Properties as Json;
    const loaded = parseConfig(String(resolved(parameter.Value)), '/ssm/config');
    expect(loaded.config.canary).toMatchObject({
      to: CANARY_TO,
      inbox: { type: 's3', bucket: `<${inboxBucketId}>`, prefix: 'canary/', region: REGION },
    });
    expect(loaded.domains.map((d) => d.canary?.from)).toEqual([
      'byodkim-canary@example.com',
      'byodkim-canary@example.net',
    ]);
  });
});

describe('ByodkimRotation canary: an IMAP mailbox instead of the SES receiving inbox', () => {
  const SECRET_NAME = 'canary/imap';
  /** What Secrets Manager would name that secret (six random characters appended). */
  const secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET_NAME}-AbC123`;
  const imapCanary =
    (secret: (stack: Stack) => secretsmanager.ISecret, extra: Partial<ByodkimCanary> = {}) =>
    (stack: Stack): ByodkimCanary => ({
      to: CANARY_TO,
      imap: { host: 'imap.example.com', user: 'canary', passwordSecret: secret(stack) },
      ...extra,
    });
  const byName = imapCanary((stack) => secretsmanager.Secret.fromSecretNameV2(stack, 'Imap', SECRET_NAME));
  const imap = build(byName);

  /** Whether an IAM resource pattern (`*`, `?` wildcards) matches an ARN. */
  const matches = (pattern: unknown, arn: string) =>
    typeof pattern === 'string' &&
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\/]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(arn);

  it('deploys no SES receiving, bucket, key or MX record, and needs no receiving Region', () => {
    for (const type of ['AWS::SES::ReceiptRuleSet', 'AWS::SES::ReceiptRule', 'AWS::Route53::RecordSet'])
      expect(resourcesOf(imap.json, type), type).toEqual([]);
    expect(imap.rotation.canaryInbox).toBeUndefined();
    expect(JSON.stringify(imap.json)).not.toContain('CanaryInbox');
    // ap-east-1 has no SES receiving; an IMAP canary does not need it.
    expect(() => build(byName, { region: 'ap-east-1' })).not.toThrow();
  });

  it('lets the function read that one secret and no other statement reach it', () => {
    // Every statement that could read a secret's value (ListSecrets returns metadata only).
    const reads = policyStatements(imap.json).filter((s) =>
      actionsOf(s).some((a) => ['secretsmanager:GetSecretValue', 'secretsmanager:*', '*'].includes(a)),
    );
    const canary = reads.filter((s) => s.where.startsWith('RotationCanaryImapPolicy'));
    expect(canary).toHaveLength(1);
    const [statement] = canary as [PolicyStatementJson];
    expect(actionsOf(statement)).toEqual(['secretsmanager:GetSecretValue']);
    expect(evaluate(statement.Resource, imap.json, {})).toBe(
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${SECRET_NAME}-??????`,
    );
    expect(matches(evaluate(statement.Resource, imap.json, {}), secretArn)).toBe(true);
    // A secret whose name only starts the same is not read.
    expect(
      matches(evaluate(statement.Resource, imap.json, {}), `${secretArn.replace('-AbC123', '-old-AbC123')}`),
    ).toBe(false);
    const others = reads.filter(
      (s) =>
        s !== statement &&
        resourcesOfStatement(s).some((r) => matches(evaluate(r, imap.json, {}), secretArn)),
    );
    expect(others).toEqual([]);
    // No S3 inbox to read.
    expect(policyStatements(imap.json).some((s) => s.where.startsWith('RotationCanaryInboxPolicy'))).toBe(
      false,
    );
  });

  it('names a secret given by complete ARN exactly, and decrypts it through Secrets Manager when it has its own key', () => {
    const withKey = build(
      imapCanary((stack) =>
        secretsmanager.Secret.fromSecretAttributes(stack, 'Imap', {
          secretCompleteArn: secretArn,
          encryptionKey: kms.Key.fromKeyArn(
            stack,
            'ImapKey',
            `arn:aws:kms:${REGION}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
          ),
        }),
      ),
    );
    const statements = policyStatements(withKey.json).filter((s) =>
      s.where.startsWith('RotationCanaryImapPolicy'),
    );
    expect(
      statements.map((s) => [
        actionsOf(s),
        evaluate(s.Resource, withKey.json, {}),
        evaluate(s.Condition, withKey.json, {}),
      ]),
    ).toEqual([
      [['secretsmanager:GetSecretValue'], secretArn, undefined],
      [
        ['kms:Decrypt'],
        `arn:aws:kms:${REGION}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
        { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
      ],
    ]);
    const parameter = onlyResource(withKey.json, 'AWS::SSM::Parameter').Properties as Json;
    const loaded = parseConfig(String(evaluate(parameter.Value, withKey.json, {})), '/ssm/config');
    expect(loaded.config.canary?.inbox).toMatchObject({ type: 'imap', passwordSecret: secretArn });
  });

  it('hands the function a config whose canary reads the mailbox, the password by secret name', () => {
    const parameter = onlyResource(imap.json, 'AWS::SSM::Parameter').Properties as Json;
    const loaded = parseConfig(String(evaluate(parameter.Value, imap.json, {})), '/ssm/config');
    expect(loaded.config.canary).toEqual(
      expect.objectContaining({
        to: CANARY_TO,
        inbox: {
          type: 'imap',
          host: 'imap.example.com',
          port: 993,
          secure: true,
          user: 'canary',
          mailbox: 'INBOX',
          passwordSecret: SECRET_NAME,
          allowSelfSigned: false,
        },
      }),
    );
  });

  it('still sends only as the canary addresses', () => {
    const send = policyStatements(imap.json).filter((s) => actionsOf(s).some((a) => /^ses:Send/.test(a)));
    expect(send).toHaveLength(1);
    expect(evaluate(send[0]?.Condition, imap.json, {})).toEqual({
      StringEquals: { 'ses:FromAddress': ['byodkim-canary@example.com', 'byodkim-canary@example.net'] },
    });
  });

  it('refuses settings of the SES receiving inbox beside imap, naming them', () => {
    expect(() =>
      build(
        imapCanary((stack) => secretsmanager.Secret.fromSecretNameV2(stack, 'Imap', SECRET_NAME), {
          hostedZoneId: 'Z0CANARY',
          prefix: 'x/',
        }),
      ),
    ).toThrow(
      /canary\.imap reads an existing mailbox, so canary\.prefix, canary\.hostedZoneId .*cannot apply/,
    );
  });

  it('reports nothing unacknowledged to cdk-nag AwsSolutions', () => {
    expect(unacknowledgedNagFindings(imap.stack)).toEqual([]);
  });
});

describe('SES receiving Regions', () => {
  it.skipIf(!cfnLintProviders())(
    "match the Regions where CloudFormation has AWS::SES::ReceiptRuleSet (the installed cfn-lint's schemas)",
    () => {
      const dir = cfnLintProviders() as string;
      const out = execFileSync(
        'python3',
        [
          '-c',
          [
            'import glob, os, sys',
            `files = glob.glob(os.path.join(${JSON.stringify(dir)}, '*.py'))`,
            "found = [os.path.basename(f)[:-3].replace('_', '-') for f in files if 'AWS::SES::ReceiptRuleSet' in open(f).read() and 'AWS::SES::ReceiptRule\"' in open(f).read()]",
            "print('\\n'.join(sorted(found)))",
          ].join('\n'),
        ],
        { encoding: 'utf8' },
      );
      // Commercial partition only (the construct deploys there).
      const commercial = out
        .trim()
        .split('\n')
        .filter((r) => /^(af|ap|ca|eu|il|me|mx|sa|us)-[a-z]+-\d$/.test(r) && !r.startsWith('us-gov-'));
      expect([...SES_RECEIVING_REGIONS].sort()).toEqual(commercial.sort());
    },
  );
});

/**
 * The independent read: the sample app (bin/app.ts) synthesized to disk as `cdk synth` does,
 * from a YAML config with a canary, and the template file read back as JSON: every statement
 * anywhere in it that could let anyone send mail through SES must be the canary's, bound to
 * the canary addresses by ses:FromAddress.
 */
describe('the synthesized template, read back from disk', () => {
  const infra = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const DOMAINS = [
    'domains:',
    '  - { domain: example.com, regions: [us-east-1, eu-west-1] }',
    '  - { domain: example.org, regions: [us-east-1] }',
  ];

  /** `cdk synth` of the sample app for this config; the template file read back as JSON. */
  function synth(canaryLines: string[]): unknown {
    const dir = mkdtempSync(join(tmpdir(), 'byodkim-canary-synth-'));
    dirs.push(dir);
    const config = join(dir, 'byodkim.config.yaml');
    writeFileSync(
      config,
      [
        'version: 1',
        'dns: { provider: route53, hostedZoneId: Z0EXAMPLE1234567890 }',
        ...canaryLines,
        ...DOMAINS,
        '',
      ].join('\n'),
    );
    const out = join(dir, 'cdk.out');
    try {
      execFileSync(resolve(infra, '../node_modules/.bin/tsx'), ['bin/app.ts'], {
        cwd: infra,
        env: {
          ...process.env,
          CDK_OUTDIR: out,
          CDK_CONTEXT_JSON: JSON.stringify({
            config,
            account: ACCOUNT,
            region: 'us-east-1',
            canaryHostedZoneId: 'Z0CANARYZONE',
          }),
        },
        stdio: 'pipe',
      });
    } catch (error) {
      throw new Error(String((error as { stderr?: Buffer }).stderr ?? error));
    }
    return JSON.parse(readFileSync(join(out, 'Byodkim.template.json'), 'utf8')) as unknown;
  }

  /** Every policy statement anywhere in the file, found by shape rather than by resource type. */
  function statementsIn(template: unknown): Json[] {
    const statements: Json[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        const o = node as Json;
        if (Array.isArray(o.Statement)) statements.push(...(o.Statement as Json[]));
        Object.values(o).forEach(walk);
      }
    };
    walk(template);
    return statements;
  }
  const actions = (s: Json) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[];
  const allowing = (statements: Json[], wanted: (action: string) => boolean) =>
    statements.filter((s) => s.Effect === 'Allow' && actions(s).some((a) => a === '*' || wanted(a)));

  it('allows ses:SendEmail and ses:SendRawEmail only with ses:FromAddress equal to the canary addresses', () => {
    const template = synth([
      'canary:',
      '  to: canary@canary.example.com',
      '  from: "dkim-canary@{domain}"',
      '  inbox: { type: s3, bucket: example-canary-inbox, prefix: canary/ }',
    ]);
    const statements = statementsIn(template);
    expect(statements.length).toBeGreaterThan(10);
    const couldSend = allowing(statements, (a) => a === 'ses:*' || /^ses:Send/i.test(a));
    expect(couldSend).toHaveLength(1);
    expect(actions(couldSend[0] as Json)).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    expect((couldSend[0] as Json).Condition).toEqual({
      StringEquals: { 'ses:FromAddress': ['dkim-canary@example.com', 'dkim-canary@example.org'] },
    });
    // The deployed inbox is the bucket the YAML names, with its MX record in the zone given.
    const text = JSON.stringify(template);
    expect(text).toContain('"BucketName":"example-canary-inbox"');
    expect(text).toContain('"HostedZoneId":"Z0CANARYZONE"');
  });

  it('with an IMAP inbox, reads the password from that one secret and deploys no SES receiving', () => {
    const template = synth([
      'canary:',
      '  to: canary@mail.example.net',
      '  inbox: { type: imap, host: imap.example.net, user: canary, passwordSecret: byodkim/canary-imap }',
    ]);
    const statements = statementsIn(template);
    const couldRead = allowing(
      statements,
      (a) => a === 'secretsmanager:*' || a === 'secretsmanager:GetSecretValue',
    );
    const imapReads = couldRead.filter((s) => JSON.stringify(s.Resource).includes('canary-imap'));
    expect(imapReads).toHaveLength(1);
    expect(actions(imapReads[0] as Json)).toEqual(['secretsmanager:GetSecretValue']);
    expect(JSON.stringify(imapReads[0]?.Resource)).toContain(':secret:byodkim/canary-imap-??????');
    const text = JSON.stringify(template);
    expect(text).not.toContain('AWS::SES::ReceiptRule');
    expect(text).not.toContain('inbound-smtp');
    const couldSend = allowing(statements, (a) => a === 'ses:*' || /^ses:Send/i.test(a));
    expect(couldSend).toHaveLength(1);
    expect((couldSend[0] as Json).Condition).toEqual({
      StringEquals: { 'ses:FromAddress': ['byodkim-canary@example.com', 'byodkim-canary@example.org'] },
    });
  });

  it('refuses an IMAP inbox whose password the function could not read, naming the field', () => {
    expect(() =>
      synth([
        'canary:',
        '  to: canary@mail.example.net',
        '  inbox: { type: imap, host: imap.example.net, user: canary, passwordEnv: CANARY_IMAP_PASSWORD }',
      ]),
    ).toThrow(
      /canary\.inbox: the deployed function reads the IMAP password from Secrets Manager; give passwordSecret/,
    );
  });
});

/** cfn-lint's per-Region resource lists, when cfn-lint is installed. */
function cfnLintProviders(): string | undefined {
  try {
    return execFileSync(
      'python3',
      [
        '-c',
        'import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), "data/schemas/providers"))',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ).trim();
  } catch {
    return undefined;
  }
}
