import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, aws_lambda as lambda, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ByodkimRotation, type ByodkimRotationProps, METRICS_NAMESPACE } from '../lib/byodkim-rotation.js';
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

const DOMAINS: ByodkimRotationProps['domains'] = [
  { domain: 'example.com', regions: ['ap-northeast-1', 'us-east-1'] },
  { domain: 'example.net', regions: ['eu-west-1'], createIdentity: true, dns: { provider: 'manual' } },
];

function build(overrides: Partial<ByodkimRotationProps> = {}): { stack: Stack; rotation: ByodkimRotation } {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'ap-northeast-1' } });
  const rotation = new ByodkimRotation(stack, 'Rotation', {
    domains: DOMAINS,
    config: { dns: { provider: 'route53', hostedZoneId: 'Z0123456789ABC' }, policy: { validityDays: 180 } },
    ...overrides,
  });
  return { stack, rotation };
}

const secretsStack = build();
const dynamoStack = build({ state: { type: 'dynamodb' } });
const secrets = templateOf(secretsStack.stack);
const dynamo = templateOf(dynamoStack.stack);

/** The logical id of the only resource of a type. */
function idOf(json: Json, type: string): string {
  const found = resourcesOf(json, type);
  expect(found).toHaveLength(1);
  return (found[0] as [string, Json])[0];
}

describe('ByodkimRotation: storage and encryption', () => {
  it('creates KMS keys with rotation on', () => {
    secrets.template.resourceCountIs('AWS::KMS::Key', 2);
    secrets.template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('keeps private keys in a private, versioned, SSE-KMS bucket with access logs and archive expiry', () => {
    const keyId = resourcesOf(secrets.json, 'AWS::KMS::Key').find(([, r]) =>
      String((r.Properties as Json).Description).includes('private keys'),
    )?.[0];
    secrets.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
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
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'key-bucket/' }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'expire-archived-keys',
            Prefix: 'dkim-keys/.archive/',
            ExpirationInDays: 90,
          }),
          Match.objectLike({
            Id: 'expire-noncurrent-versions',
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          }),
        ]),
      },
    });
  });

  it('refuses plain HTTP on every bucket', () => {
    const buckets = resourcesOf(secrets.json, 'AWS::S3::Bucket').map(([id]) => id);
    const policies = resourcesOf(secrets.json, 'AWS::S3::BucketPolicy');
    for (const bucket of buckets) {
      const policy = policies.find(([, p]) => JSON.stringify((p.Properties as Json).Bucket).includes(bucket));
      if (policy === undefined) throw new Error(`no bucket policy for ${bucket}`);
      const statements = ((policy[1].Properties as Json).PolicyDocument as { Statement: Json[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('blocks public access on the access-log bucket too', () => {
    secrets.template.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('creates one retained, KMS-encrypted secret per domain in the seeds form', () => {
    const found = resourcesOf(secrets.json, 'AWS::SecretsManager::Secret');
    expect(found.map(([, r]) => (r.Properties as Json).Name).sort()).toEqual([
      'byodkim/example.com',
      'byodkim/example.net',
    ]);
    for (const [, r] of found) {
      const p = r.Properties as Json;
      expect(p.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RotationKey/), 'Arn'] });
      expect(JSON.parse(String(p.SecretString))).toEqual({ domain: expect.any(String) });
      expect(r.DeletionPolicy).toBe('Retain');
    }
  });

  it('or a DynamoDB table keyed by pk, with PITR and the KMS key', () => {
    dynamo.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    dynamo.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('encrypts the notification topic and refuses plain HTTP publishers', () => {
    secrets.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const policy = onlyResource(secrets.json, 'AWS::SNS::TopicPolicy');
    expect(JSON.stringify(policy)).toContain('aws:SecureTransport');
  });
});

describe('ByodkimRotation: function and triggers', () => {
  it('runs on nodejs22.x or newer, arm64, with the config in SSM', () => {
    const fn = onlyResource(secrets.json, 'AWS::Lambda::Function').Properties as Json;
    expect(String(fn.Runtime)).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.MemorySize).toBe(512);
    expect(fn.Timeout).toBe(600);
    // One run at a time: SES's one request per second per account and region is not shared unknowingly.
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    const env = (fn.Environment as { Variables: Json }).Variables;
    expect(env.BYODKIM_CONFIG_PARAMETER).toEqual({ Ref: idOf(secrets.json, 'AWS::SSM::Parameter') });
    expect(env.BYODKIM_METRICS_NAMESPACE).toBe('byodkim');
  });

  it('takes memory, timeout, runtime, concurrency and code from props', () => {
    const { stack } = build({
      memorySize: 1024,
      timeout: Duration.minutes(3),
      runtime: lambda.Runtime.NODEJS_22_X,
      reservedConcurrentExecutions: 2,
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    templateOf(stack).template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 180,
      Runtime: 'nodejs22.x',
      ReservedConcurrentExecutions: 2,
      Code: { ZipFile: 'exports.handler = async () => {}' },
    });
  });

  it('refuses a runtime older than nodejs22.x', () => {
    expect(() => build({ runtime: lambda.Runtime.NODEJS_20_X })).toThrow(/older than nodejs22\.x/);
  });

  it('runs hourly and on CREATE_COMPLETE/UPDATE_COMPLETE of the configured stacks, with the phase_manager action', () => {
    const { stack } = build({ triggerStackNames: ['ses-config', 'other'] });
    const { template } = templateOf(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Input: '{"action":"phase_manager"}' })],
    });
    const json = template.toJSON() as Json;
    const rule = resourcesOf(json, 'AWS::Events::Rule').find(([, r]) =>
      JSON.stringify(r).includes('aws.cloudformation'),
    );
    const props = evaluate(rule?.[1].Properties, json, {}) as Json;
    expect(props.EventPattern).toEqual({
      source: ['aws.cloudformation'],
      'detail-type': ['CloudFormation Stack Status Change'],
      detail: {
        'stack-id': [
          { wildcard: 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/ses-config/*' },
          { wildcard: 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/other/*' },
        ],
        'status-details': { status: ['CREATE_COMPLETE', 'UPDATE_COMPLETE'] },
      },
    });
    expect(props.Targets).toEqual([expect.objectContaining({ Input: '{"action":"phase_manager"}' })]);
  });

  it('watches its own stack by default', () => {
    const rule = resourcesOf(secrets.json, 'AWS::Events::Rule').find(([, r]) =>
      JSON.stringify(r).includes('aws.cloudformation'),
    );
    expect(JSON.stringify(rule)).toContain('stack/Test/*');
  });

  it('deploys the bundle directory as an asset, and fails the synth naming the fix when it has no bundle', () => {
    // The default directory holds the bundle test/global-setup.ts built: an S3 asset, not inline code.
    const fn = onlyResource(secrets.json, 'AWS::Lambda::Function').Properties as Json;
    expect(fn.Code).toEqual({
      S3Bucket: expect.anything(),
      S3Key: expect.stringMatching(/^[0-9a-f]{64}\.zip$/),
    });
    const empty = mkdtempSync(join(tmpdir(), 'byodkim-no-bundle-'));
    try {
      expect(() => build({ codeDirectory: empty })).toThrow(
        `ByodkimRotation: the function bundle is missing: ${join(empty, 'index.mjs')} does not exist. Build it into that directory with "node scripts/bundle-lambda.mjs --outdir <dir>"`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('ByodkimRotation: alarms and dashboard', () => {
  it('alarms on function errors, DaysToExpiry, PhaseAgeHours and Failures, to the topic', () => {
    const alarms = resourcesOf(secrets.json, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Json);
    expect(alarms).toHaveLength(4);
    const topic = { Ref: idOf(secrets.json, 'AWS::SNS::Topic') };
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topic]);
    const byQuery = (metric: string): Json | undefined =>
      alarms.find((a) => JSON.stringify(a.Metrics ?? '').includes(metric));
    expect(byQuery('MIN(DaysToExpiry)')).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 14,
    });
    expect(byQuery('MAX(PhaseAgeHours)')).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 48,
    });
    expect(byQuery('SUM(Failures)')).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect(JSON.stringify(byQuery('DaysToExpiry'))).toContain(`SCHEMA(\\"${METRICS_NAMESPACE}\\", Domain)`);
    expect(alarms.find((a) => a.MetricName === 'Errors')).toMatchObject({ Namespace: 'AWS/Lambda' });
  });

  it('takes the thresholds from props', () => {
    const { stack } = build({ daysToExpiryThreshold: 7, phaseAgeHoursThreshold: 12 });
    const { template } = templateOf(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 7,
      Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('DaysToExpiry') })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 12,
      Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('PhaseAgeHours') })],
    });
  });

  it('has a dashboard with the four metrics', () => {
    const body = JSON.stringify(onlyResource(secrets.json, 'AWS::CloudWatch::Dashboard'));
    for (const metric of ['DaysToExpiry', 'PhaseAgeHours', 'RotationsCompleted', 'Failures']) {
      expect(body).toContain(metric);
    }
  });
});

describe('ByodkimRotation: IAM', () => {
  const scoped = ['ses:', 's3:', 'kms:', 'route53:'];

  it.each([
    ['secrets-manager', secrets.json],
    ['dynamodb', dynamo.json],
  ])(
    '(%s) grants no SES, S3, KMS or Route 53 action on "*" but the batched health read, region-pinned',
    (_name, json) => {
      const statements = policyStatements(json);
      expect(statements.length).toBeGreaterThan(10);
      // SES v1 GetIdentityDkimAttributes supports no resource type: "*" is the only grant that
      // works, so it stands alone in its statement, pinned to the configured regions.
      const batched = statements.filter((s) => actionsOf(s).includes('ses:GetIdentityDkimAttributes'));
      const [batchedRead] = batched;
      if (batched.length !== 1 || batchedRead === undefined) throw new Error('one batched health read grant');
      expect(actionsOf(batchedRead)).toEqual(['ses:GetIdentityDkimAttributes']);
      expect(JSON.stringify(batchedRead)).toContain('aws:RequestedRegion');
      for (const s of statements) {
        if (s === batchedRead) continue;
        const touchesScoped = actionsOf(s).some((a) => a === '*' || scoped.some((p) => a.startsWith(p)));
        if (!touchesScoped) continue;
        for (const resource of resourcesOfStatement(s)) {
          expect(resource, `${s.where} ${s.Sid ?? ''} ${actionsOf(s).join(',')}`).not.toBe('*');
        }
        expect(actionsOf(s).filter((a) => a.endsWith(':*') && s.Effect === 'Allow')).toEqual([]);
      }
    },
  );

  it('grants exactly the actions docs/deploy.md lists, nothing else', () => {
    const granted = (json: Json): string[] => {
      const policies = new Set(resourcesOf(json, 'AWS::IAM::Policy').map(([id]) => id));
      return [
        ...new Set(
          policyStatements(json)
            .filter((s) => policies.has(s.where) && s.Effect === 'Allow')
            .flatMap(actionsOf),
        ),
      ].sort();
    };
    const common = [
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'route53:ListResourceRecordSets',
      's3:DeleteObject',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      'ses:CreateEmailIdentity',
      'ses:GetEmailIdentity',
      'ses:GetIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimSigningAttributes',
      'sns:Publish',
      'ssm:GetParameter',
    ];
    expect(granted(secrets.json)).toEqual(
      [
        ...common,
        'secretsmanager:CreateSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecrets',
        'secretsmanager:PutSecretValue',
      ].sort(),
    );
    expect(granted(dynamo.json)).toEqual(
      [
        ...common,
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ].sort(),
    );
  });

  it('grants SES on each configured domain in each of its regions, and CreateEmailIdentity only where asked', () => {
    const statements = policyStatements(secrets.json);
    const manage = statements.find((s) => s.Sid === 'ManageListedSesIdentities');
    expect(actionsOf(manage as never).sort()).toEqual([
      'ses:GetEmailIdentity',
      'ses:PutEmailIdentityDkimAttributes',
      'ses:PutEmailIdentityDkimSigningAttributes',
    ]);
    const arns = (resourcesOfStatement(manage as never) as unknown[]).map((r) =>
      evaluate(r, secrets.json, {}),
    );
    expect(arns.sort()).toEqual([
      'arn:aws:ses:ap-northeast-1:123456789012:identity/example.com',
      'arn:aws:ses:eu-west-1:123456789012:identity/example.net',
      'arn:aws:ses:us-east-1:123456789012:identity/example.com',
    ]);
    const create = statements.find((s) => s.Sid === 'CreateListedSesIdentities');
    expect(create?.Action).toBe('ses:CreateEmailIdentity');
    expect(
      (resourcesOfStatement(create as never) as unknown[]).map((r) => evaluate(r, secrets.json, {})),
    ).toEqual(['arn:aws:ses:eu-west-1:123456789012:identity/example.net']);
    expect(JSON.stringify(statements)).not.toContain('ses:ListEmailIdentities');
  });

  it('scopes S3 to the key prefix, KMS to its keys, secrets to byodkim/*, Route 53 to the zone', () => {
    const statements = policyStatements(secrets.json);
    const sid = (id: string) => statements.find((s) => s.Sid === id) as (typeof statements)[number];
    const resolved = (id: string) => resourcesOfStatement(sid(id)).map((r) => evaluate(r, secrets.json, {}));
    expect(resolved('KeyObjects')).toEqual([
      expect.stringMatching(/^<RotationKeyBucket\w+\.Arn>\/dkim-keys\/\*$/),
    ]);
    expect(sid('ListKeyPrefix').Condition).toEqual({ StringLike: { 's3:prefix': ['dkim-keys/*'] } });
    expect(resolved('UseKeyThroughStorage')).toEqual([expect.stringMatching(/^<RotationKey\w+\.Arn>$/)]);
    expect(actionsOf(sid('UseKeyThroughStorage')).sort()).toEqual([
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
    ]);
    expect(resolved('StateSecrets')).toEqual([
      'arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:byodkim/*',
    ]);
    expect(sid('CreateStateSecretsWithOwnKey').Condition).toEqual({
      StringEquals: {
        'secretsmanager:KmsKeyArn': { 'Fn::GetAtt': [expect.stringMatching(/^RotationKey/), 'Arn'] },
      },
    });
    expect(resolved('ChangeDkimRecords')).toEqual(['arn:aws:route53:::hostedzone/Z0123456789ABC']);
    expect(sid('ChangeDkimRecords').Condition).toEqual({
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['*._domainkey.*'],
      },
    });
    expect(resolved('WaitForChanges')).toEqual(['arn:aws:route53:::change/*']);
    expect(resolved('PublishNotifications')).toEqual([
      expect.stringMatching(/^arn:aws:sns:.*:<RotationTopic\w+>$/),
    ]);
    expect(JSON.stringify(statements)).not.toContain('ListHostedZonesByName');
  });

  it('grants DynamoDB on the table only when the state is there', () => {
    const statements = policyStatements(dynamo.json);
    const table = statements.find((s) => s.Sid === 'StateTable');
    expect(resourcesOfStatement(table as never)).toEqual([
      { 'Fn::GetAtt': [idOf(dynamo.json, 'AWS::DynamoDB::Table'), 'Arn'] },
    ]);
    expect(JSON.stringify(statements)).not.toContain('secretsmanager:');
  });

  it('refuses Route 53 without a hosted zone id', () => {
    expect(() => build({ config: { dns: { provider: 'route53' } } })).toThrow(/hostedZoneId/);
    expect(() =>
      build({ domains: [{ domain: 'a.example', regions: ['us-east-1'], dns: { provider: 'route53' } }] }),
    ).toThrow(/domains\[0\]\.dns/);
  });

  it('grants no Route 53 at all when no zone is configured', () => {
    const { stack } = build({ config: { dns: { provider: 'manual' } } });
    expect(JSON.stringify(templateOf(stack).json)).not.toContain('route53:');
  });

  it('switches to identity/* per region for fleets, and refuses listing too many', () => {
    const many = Array.from({ length: 80 }, (_, i) => ({
      domain: `d${i}.example`,
      regions: ['us-east-1', 'eu-west-1'],
    }));
    expect(() => build({ domains: many })).toThrow(/sesIdentityScope/);
    const { stack } = build({ domains: many, sesIdentityScope: 'account' });
    const { json } = templateOf(stack);
    const statement = policyStatements(json).find((s) => s.Sid === 'ManageSesIdentitiesInRegions');
    expect(resourcesOfStatement(statement as never).map((r) => evaluate(r, json, {}))).toEqual([
      'arn:aws:ses:eu-west-1:123456789012:identity/*',
      'arn:aws:ses:us-east-1:123456789012:identity/*',
    ]);
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });
});

describe('ByodkimRotation: config handed to the function', () => {
  const configOf = (json: Json, parameters: Record<string, string> = {}): string =>
    String(evaluate((onlyResource(json, 'AWS::SSM::Parameter').Properties as Json).Value, json, parameters));

  it('is the CLI config, with keys, state and the SNS notifier of the stack', () => {
    const text = configOf(secrets.json);
    const loaded = parseConfig(text, '/ssm/byodkim-config');
    expect(loaded.config.keys).toEqual({
      type: 's3',
      bucket: expect.stringMatching(/^<RotationKeyBucket/),
      prefix: 'dkim-keys/',
      kmsKeyId: expect.stringMatching(/^<RotationKey\w+\.Arn>$/),
      retired: 'archive',
    });
    expect(loaded.config.state).toEqual({
      type: 'secrets-manager',
      secretName: 'byodkim/{domain}',
      kmsKeyId: expect.stringMatching(/^<RotationKey/),
    });
    expect(loaded.config.notify).toEqual([
      { type: 'sns', topicArn: expect.stringMatching(/^arn:aws:sns:.*:<RotationTopic/) },
      { type: 'stdout' },
    ]);
    expect(loaded.config.policy.validityDays).toBe(180);
    expect(loaded.domains.map((d) => [d.domain, d.regions, d.createIdentity, d.dns.provider])).toEqual([
      ['example.com', ['ap-northeast-1', 'us-east-1'], false, 'route53'],
      ['example.net', ['eu-west-1'], true, 'manual'],
    ]);
    expect(loaded.domains[1]?.dns).toMatchObject({ outDir: '/tmp/dns-requests' });
  });

  it('names the DynamoDB table when the state is there', () => {
    const loaded = parseConfig(configOf(dynamo.json), '/ssm/byodkim-config');
    expect(loaded.config.state).toEqual({
      type: 'dynamodb',
      table: expect.stringMatching(/^<RotationStateTable/),
    });
  });

  it('keeps webhook notifiers and drops file notifiers and local AWS settings', () => {
    const { stack } = build({
      config: {
        notify: [
          { type: 'webhook', url: 'https://hooks.example/dkim' },
          { type: 'file', path: 'x.log' },
        ],
        aws: { profile: 'dev', endpoints: { s3: 'http://127.0.0.1:5000' }, maxAttempts: 7 },
      },
    });
    const loaded = parseConfig(configOf(templateOf(stack).json), '/ssm/byodkim-config');
    expect(loaded.config.notify.map((n) => n.type)).toEqual(['sns', 'webhook', 'stdout']);
    expect(loaded.config.aws).toEqual({ maxAttempts: 7 });
  });
});

describe('ByodkimRotation: cdk-nag', () => {
  it.each([
    ['secrets-manager', secretsStack.stack],
    ['dynamodb', dynamoStack.stack],
  ])('(%s) AwsSolutions reports nothing unacknowledged', (_name, stack) => {
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });

  it('every acknowledgment carries a reason', () => {
    const acks = secretsStack.stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.values(m.data as Record<string, unknown>));
    expect(acks.length).toBeGreaterThan(3);
    for (const ack of acks) expect(JSON.stringify(ack)).toMatch(/[a-z]{4,}.{30,}/);
  });
});
