/**
 * The bundled function, as Lambda would run it: dist-style bundle built by
 * scripts/bundle-lambda.mjs into a directory outside the repository (so nothing can come
 * from node_modules), then invoked in fresh Node processes — scheduled events, a
 * CloudFormation stack event, direct actions — against real services:
 *
 *   SES v2       the project's SES emulator (AWS_ENDPOINT_URL_SESV2)
 *   S3 + KMS     moto: the key vault, SSE-KMS with a KMS key created here
 *   DynamoDB     moto: the state table, created here
 *   SNS          moto: the notification topic, created here
 *   DNS          the embedded authoritative server: RFC 2136 updates with TSIG, probed directly
 *
 * Then: state is in DynamoDB, keys are in S3 encrypted with the KMS key, stdout is JSON log
 * lines and EMF documents only, and no byte of any private key (read back from S3) appears
 * anywhere in the processes' stdout or stderr. With a canary configured, the function loads
 * the canary's chunks (mailauth) from its own directory, sends canaries through the emulator
 * into a moto bucket (as SES receiving stores them) and judges them.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { INSTANT_UNLIMITED, SesEmulator } from '../../../emulator/ses/server.js';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import type { DomainState } from '../../../src/domain/state.js';
import type { HandlerResponse, PassResponse } from '../../../src/lambda/handler.js';
import { MOTO_CREDENTIALS, motoClients, motoSupport, useMoto } from '../../support/moto.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const DOMAIN = 'example.com';
const REGIONS = ['us-east-1', 'ap-northeast-1'];
const BUCKET = 'byodkim-keys';
const TABLE = 'byodkim-state';
const TSIG_ENV = 'BYODKIM_TSIG_SECRET';
const CANARY_BUCKET = 'byodkim-canary';
const CANARY_PREFIX = 'canary/';

const SCHEDULED = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/byodkim-schedule'],
  detail: {},
};
const STACK_CREATED = {
  version: '0',
  id: 'c3d1d3c5-3d0f-4d3e-9a1e-1f0e0b0a0c0d',
  'detail-type': 'CloudFormation Stack Status Change',
  source: 'aws.cloudformation',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:cloudformation:us-east-1:123456789012:stack/ses-configuration/0f1e'],
  detail: {
    'stack-id': 'arn:aws:cloudformation:us-east-1:123456789012:stack/ses-configuration/0f1e',
    'status-details': { status: 'CREATE_COMPLETE', 'status-reason': '' },
  },
};

/** The "Lambda runtime": imports the bundle, optionally times init, calls handler per event. */
const INVOKE = `
const [bundle, eventsFile, resultFile] = process.argv.slice(2);
const events = JSON.parse(await (await import('node:fs/promises')).readFile(eventsFile, 'utf8'));
const t0 = performance.now();
const mod = await import(bundle);
const t1 = performance.now();
// Pre-warm as a provisioned environment would; RUNNER_LAZY=1 leaves init to the first event.
if (process.env.RUNNER_LAZY !== '1') await mod.init();
const t2 = performance.now();
const results = [];
let n = 0;
for (const event of events) {
  n += 1;
  const context = {
    awsRequestId: 'req-' + process.pid + '-' + n,
    functionName: 'byodkim-rotation',
    // RUNNER_REMAINING_MS: the invocation's time limit, counting down from the event's start.
    getRemainingTimeInMillis: ((started, limit) => () => limit - (performance.now() - started))(
      performance.now(),
      Number(process.env.RUNNER_REMAINING_MS ?? 300000),
    ),
  };
  try {
    results.push(await mod.handler(event, context));
  } catch (error) {
    results.push({ thrown: String(error && error.message) });
  }
}
await (await import('node:fs/promises')).writeFile(
  resultFile,
  JSON.stringify({ importMs: t1 - t0, initMs: t2 - t1, results }),
);
`;

interface Invocation {
  stdout: string;
  stderr: string;
  code: number | null;
  importMs: number;
  initMs: number;
  results: Array<HandlerResponse | { thrown: string }>;
}

const support = motoSupport();

describe.skipIf(support.skip)(`bundled Lambda handler in a fresh Node process${support.label}`, () => {
  const moto = useMoto();
  let dir: string;
  let bundle: string;
  let bundleBytes: number;
  let bundleTotalBytes: number;
  let dns: EmbeddedDnsServer;
  let ses: SesEmulator;
  let clients: AwsClientFactory;
  let kmsKeyArn: string;
  let topicArn: string;
  let config: string;
  const tsigSecret = randomBytes(32).toString('base64');
  const outputs: Invocation[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byodkim-lambda-'));
    const built = await promisify(execFile)(
      process.execPath,
      ['scripts/bundle-lambda.mjs', '--outdir', join(dir, 'function')],
      { cwd: ROOT },
    );
    bundleBytes = Number(/: (\d+) bytes .* loaded on import/.exec(built.stdout)?.[1]);
    bundleTotalBytes = Number(/; (\d+) bytes in \d+ files/.exec(built.stdout)?.[1]);
    bundle = pathToFileURL(join(dir, 'function', 'index.mjs')).href;
    await writeFile(join(dir, 'runner.mjs'), INVOKE);

    const store = new ZoneStore();
    store.addZone(DOMAIN, { nameservers: [`ns1.${DOMAIN}`] });
    store.setTxt(`_dmarc.${DOMAIN}`, 'v=DMARC1; p=reject');
    dns = await EmbeddedDnsServer.start({
      store,
      tsigKeys: [{ name: 'byodkim-key', algorithm: 'hmac-sha256', secret: tsigSecret }],
    });
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      ...INSTANT_UNLIMITED, // Issue 16/17 (product side) switches these to the realistic defaults.
      // On the system clock: canaries arrive a few seconds after they are sent.
      inbound: [
        {
          domain: 'inbox.example.net',
          type: 's3',
          endpoint: moto.endpoint,
          bucket: CANARY_BUCKET,
          prefix: CANARY_PREFIX,
          credentials: MOTO_CREDENTIALS,
        },
      ],
    });

    clients = motoClients(moto.endpoint);
    const kms = clients.client('kms', 'us-east-1', (c) => new KMSClient(c));
    kmsKeyArn =
      (await kms.send(new CreateKeyCommand({ Description: 'byodkim keys' }))).KeyMetadata?.Arn ?? '';
    const s3 = clients.client('s3', 'us-east-1', (c) => new S3Client(c));
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: CANARY_BUCKET }));
    const dynamodb = clients.client('dynamodb', 'us-east-1', (c) => new DynamoDBClient(c));
    await dynamodb.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const sns = clients.client('sns', 'us-east-1', (c) => new SNSClient(c));
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'byodkim' }))).TopicArn ?? '';

    const server = `${dns.host}:${dns.port}`;
    config = [
      'version: 1',
      'policy: { verifyChecks: 1 }',
      `keys: { type: s3, bucket: ${BUCKET}, kmsKeyId: "${kmsKeyArn}" }`,
      `state: { type: dynamodb, table: ${TABLE} }`,
      `dns: { provider: rfc2136, server: "${server}", tsig: { name: byodkim-key, algorithm: hmac-sha256, secretEnv: ${TSIG_ENV} } }`,
      `probe: { nameservers: ["${server}"], timeoutMs: 1000 }`,
      `notify: [{ type: sns, topicArn: "${topicArn}" }, { type: stdout }]`,
      'domains:',
      `  - { domain: ${DOMAIN}, regions: [${REGIONS.join(', ')}], selectorPrefix: mail, createIdentity: true }`,
      '',
    ].join('\n');
  });

  afterAll(async () => {
    clients?.destroy();
    await ses?.stop();
    await dns?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh `node` process: the bundle, a list of events, the Lambda environment. */
  async function invoke(events: unknown[], configEnv: Record<string, string>): Promise<Invocation> {
    const eventsFile = join(dir, `events-${outputs.length}.json`);
    const resultFile = join(dir, `result-${outputs.length}.json`);
    await writeFile(eventsFile, JSON.stringify(events));
    const env = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
      // The function runs on nodejs22.x or newer; this host may run Node 20, which the SDK warns about.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'byodkim-rotation',
      AWS_ENDPOINT_URL_SESV2: ses.endpoint,
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
      AWS_ENDPOINT_URL_SNS: moto.endpoint,
      AWS_ENDPOINT_URL_KMS: moto.endpoint,
      BYODKIM_DEADLINE_MARGIN_MS: '30000',
      [TSIG_ENV]: tsigSecret,
      ...configEnv,
    };
    const child = spawn(process.execPath, [join(dir, 'runner.mjs'), bundle, eventsFile, resultFile], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    const parsed = JSON.parse(await readFile(resultFile, 'utf8').catch(() => '{"results":[]}'));
    const run: Invocation = { stdout, stderr, code, ...parsed };
    outputs.push(run);
    return run;
  }

  function lines(run: Invocation): Array<Record<string, unknown>> {
    return run.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          throw new Error(`stdout line is not JSON: ${l.slice(0, 200)}`);
        }
      });
  }

  async function storedState(): Promise<DomainState> {
    const dynamodb = clients.client('dynamodb', 'us-east-1', (c) => new DynamoDBClient(c));
    const item = await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: DOMAIN } } }));
    return JSON.parse(item.Item?.state?.S ?? 'null') as DomainState;
  }

  it('builds a bundle within budget, with no test-only code in it, and the canary on demand', async () => {
    expect(bundleBytes).toBeGreaterThan(100_000);
    expect(bundleBytes).toBeLessThanOrEqual(1_600_000);
    expect(bundleTotalBytes).toBeGreaterThan(bundleBytes);
    expect(bundleTotalBytes).toBeLessThanOrEqual(5_000_000);
    const meta = JSON.parse(await readFile(join(dir, 'function.meta.json'), 'utf8')) as {
      inputs: Record<string, unknown>;
      outputs: Record<
        string,
        { inputs: Record<string, unknown>; imports: Array<{ path: string; kind: string }> }
      >;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((p) => p.includes('src/lambda/handler.ts'))).toBe(true);
    expect(inputs.some((p) => p.includes('@aws-sdk/client-sesv2'))).toBe(true);
    for (const forbidden of ['emulator/', 'src/cli/', 'node_modules/commander/', 'src/sandbox/'])
      expect(inputs.filter((p) => p.includes(forbidden))).toEqual([]);
    // The canary judges mail with mailauth and reads IMAP with imapflow: both ship, in chunks
    // that only a config with a canary loads (import()), never in what importing the function loads.
    expect(inputs.some((p) => p.includes('node_modules/mailauth/'))).toBe(true);
    expect(inputs.some((p) => p.includes('node_modules/imapflow/'))).toBe(true);
    const entry = Object.keys(meta.outputs).find((f) => f.endsWith('function/index.mjs')) as string;
    const onImport = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (onImport.has(file)) continue;
      onImport.add(file);
      for (const i of meta.outputs[file]?.imports ?? [])
        if (i.kind === 'import-statement' && meta.outputs[i.path]) queue.push(i.path);
    }
    expect(onImport.size).toBeGreaterThan(1);
    const loadedOnImport = [...onImport].flatMap((f) => Object.keys(meta.outputs[f]?.inputs ?? {}));
    expect(loadedOnImport.some((p) => p.includes('src/lambda/handler.ts'))).toBe(true);
    for (const onDemand of ['node_modules/mailauth/', 'node_modules/imapflow/', 'src/doctor/mail-judge.ts'])
      expect(loadedOnImport.filter((p) => p.includes(onDemand))).toEqual([]);
  });

  it('onboards the domain from a schedule and a CloudFormation stack event, in a cold then warm process', async () => {
    const run = await invoke([SCHEDULED, STACK_CREATED, SCHEDULED, SCHEDULED, SCHEDULED], {
      BYODKIM_CONFIG: config,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = run.results as PassResponse[];
    expect(results.map((r) => [r.action, r.trigger])).toEqual([
      ['phase_manager', 'schedule'],
      ['phase_manager', 'cloudformation'],
      ['phase_manager', 'schedule'],
      ['phase_manager', 'schedule'],
      ['phase_manager', 'schedule'],
    ]);
    expect(results[0]?.domains[0]?.steps.map((s) => s.kind)).toEqual(['generate-key', 'publish']);
    const last = results.at(-1);
    expect(last?.counts).toEqual({ ok: 1, waiting: 0, failed: 0, locked: 0, skipped: 0 });
    const active = last?.domains[0]?.active?.selector;
    expect(active).toMatch(/^mail-\d{8}-1$/);
    expect(last?.domains[0]?.daysToExpiry).toBeGreaterThan(364);

    // State in DynamoDB, keys in S3 under the seed layout with SSE-KMS, the record in DNS, SES on it.
    const state = await storedState();
    expect(state.keys.map((k) => [k.selector, k.status])).toEqual([[active, 'active']]);
    expect(state.history.some((h) => h.actor.kind === 'lambda' && h.actor.user === 'byodkim-rotation')).toBe(
      true,
    );
    const s3 = clients.client('s3', 'us-east-1', (c) => new S3Client(c));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: `dkim-keys/${DOMAIN}/${active}/private_key.pem` }),
    );
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toContain(kmsKeyArn.split('/').at(-1));
    expect(dns.store.findZone(DOMAIN)?.types(`${active}._domainkey.${DOMAIN}`).length).toBeGreaterThan(0);
    for (const region of REGIONS) {
      const sample = await ses.signSample(region, DOMAIN);
      expect(sample.signedWithDomainKey).toBe(true);
    }

    // stdout: JSON only. Logs carry requestId and engine fields; init happened once (warm after).
    const all = lines(run);
    const logs = all.filter((l) => !('_aws' in l));
    for (const log of logs) {
      expect(log).toMatchObject({ level: expect.any(String), message: expect.any(String) });
      if (log.message !== 'initialized') expect(log.requestId).toEqual(expect.stringMatching(/^req-/));
    }
    expect(logs.filter((l) => l.message === 'initialized')).toHaveLength(1); // once, then warm
    expect(
      logs.some((l) => l.event === 'step' && l.step === 'publish' && l.phase === 4 && l.domain === DOMAIN),
    ).toBe(true);
    expect(logs.some((l) => l.event === 'step' && l.step === 'ses-create' && l.status === 'done')).toBe(true);
    expect(logs.some((l) => l.event === 'notification')).toBe(true);
    // "now signs with …" went out through SNS (moto) and stdout: the notify step succeeded.
    expect(logs.some((l) => l.step === 'notify' && l.status === 'done')).toBe(true);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);

    // EMF: per-domain documents in namespace byodkim with dimension Domain, and aggregates.
    const emf = all.filter((l) => '_aws' in l);
    const perDomain = emf.filter((d) => d.Domain === DOMAIN && !('Region' in d));
    expect(perDomain).toHaveLength(results.length);
    // The onboarding switch's gap, once per region, in the run that saw SES signing.
    const gaps = emf.filter((d) => d.Domain === DOMAIN && 'SigningGapSeconds' in d);
    expect(gaps.map((d) => d.Region).sort()).toEqual([...REGIONS].sort());
    for (const doc of emf) {
      const directive = (doc._aws as { CloudWatchMetrics: Array<Record<string, unknown>> })
        .CloudWatchMetrics[0];
      expect(directive?.Namespace).toBe('byodkim');
    }
    expect(perDomain.reduce((n, d) => n + (d.RotationsCompleted as number), 0)).toBe(1);
    expect(perDomain.at(-1)).toMatchObject({ PhaseAgeHours: 0, Failures: 0 });
    expect(perDomain.at(-1)?.DaysToExpiry).toBeGreaterThan(364);
    expect(emf.filter((d) => !('Domain' in d))).toHaveLength(results.length);

    console.log(
      `bundle ${bundleBytes} bytes on import (${bundleTotalBytes} in all); cold import ${run.importMs.toFixed(0)} ms, init ${run.initMs.toFixed(0)} ms`,
    );
  });

  it('reads its config from S3 in a new process: status, bad input refused, then an operator rotation', async () => {
    const s3 = clients.client('s3', 'us-east-1', (c) => new S3Client(c));
    await s3.send(new CreateBucketCommand({ Bucket: 'byodkim-config' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'byodkim-config', Key: 'byodkim/config.yaml', Body: config }),
    );
    const before = await storedState();
    const old = before.keys.find((k) => k.status === 'active')?.selector;
    const run = await invoke(
      [
        { action: 'status' },
        { action: 'rotate' },
        { action: 'rotate', domain: DOMAIN, revokeNow: true },
        { action: 'rotate', domain: DOMAIN },
        SCHEDULED,
        SCHEDULED,
        SCHEDULED,
      ],
      { BYODKIM_CONFIG_S3: 's3://byodkim-config/byodkim/config.yaml' },
    );
    expect(run.stderr).toBe('');
    const [status, noDomain, revokeAlone, rotate, ...passes] = run.results as HandlerResponse[];
    expect(status).toMatchObject({
      ok: true,
      action: 'status',
      domains: [{ domain: DOMAIN, active: { selector: old } }],
    });
    expect(noDomain).toMatchObject({ ok: false, error: { code: 'EVENT_INVALID', field: 'domain' } });
    expect(revokeAlone).toMatchObject({
      ok: false,
      error: { code: 'EVENT_INVALID', field: 'revokeNow', value: 'true' },
    });
    expect(rotate).toMatchObject({ action: 'rotate', domains: [{ domain: DOMAIN }] });
    const last = passes.at(-1) as PassResponse;
    expect(last.domains[0]?.active?.selector).not.toBe(old);
    const after = await storedState();
    expect(after.keys.find((k) => k.selector === old)?.status).toBe('retiring');
    expect(after.history.some((h) => h.reason === 'RotationRequested' && h.actor.kind === 'lambda')).toBe(
      true,
    );
    expect(lines(run).find((l) => l.message === 'initialized')).toMatchObject({
      source: 'BYODKIM_CONFIG_S3 s3://byodkim-config/byodkim/config.yaml',
    });
  });

  it('fails a cold start on a bad config with a JSON error line naming the source, and no state change', async () => {
    const before = await storedState();
    const run = await invoke([SCHEDULED], {
      RUNNER_LAZY: '1',
      BYODKIM_CONFIG: config.replace('regions: [us-east-1', 'regions: [mars-north-1'),
    });
    expect(run.code).toBe(0);
    expect(run.results).toEqual([{ thrown: expect.stringContaining('mars-north-1') }]);
    const [failure] = lines(run);
    expect(failure).toMatchObject({
      level: 'error',
      message: expect.stringContaining('BYODKIM_CONFIG: invalid config'),
      error: { code: 'CONFIG_INVALID' },
    });
    expect(await storedState()).toEqual(before);
  });

  it('with a canary, loads the judge on demand in a cold process, sends canaries in both regions and judges them', async () => {
    const withCanary = `${config}canary: { to: canary@inbox.example.net, inbox: { type: s3, bucket: ${CANARY_BUCKET}, prefix: ${CANARY_PREFIX}, region: us-east-1 } }\n`;
    const active = (await storedState()).keys.find((k) => k.status === 'active')?.selector;
    const send = await invoke([SCHEDULED], { BYODKIM_CONFIG: withCanary });
    expect(send.stderr).toBe('');
    const stepsOf = (run: Invocation, kind: string) =>
      (run.results as PassResponse[]).flatMap((r) =>
        (r.domains?.[0]?.steps ?? []).filter((s) => s.kind === kind && s.status === 'done'),
      );
    expect(
      stepsOf(send, 'send-canary')
        .map((s) => s.region)
        .sort(),
    ).toEqual([...REGIONS].sort());
    // SES delivers a few seconds later (the emulator runs on the system clock here).
    const s3 = clients.client('s3', 'us-east-1', (c) => new S3Client(c));
    for (let i = 0; i < 100; i++) {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: CANARY_BUCKET, Prefix: CANARY_PREFIX }),
      );
      if ((listed.Contents ?? []).length >= REGIONS.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    const judge = await invoke([SCHEDULED], { BYODKIM_CONFIG: withCanary });
    expect(judge.stderr).toBe('');
    const all = lines(judge);
    expect(all.filter((l) => l.level === 'error')).toEqual([]);
    expect(
      stepsOf(judge, 'canary-judged')
        .map((s) => s.region)
        .sort(),
    ).toEqual([...REGIONS].sort());
    const canaryMetrics = all.filter((d) => '_aws' in d && 'CanarySigned' in d);
    expect(canaryMetrics.map((d) => d.Region).sort()).toEqual([...REGIONS].sort());
    for (const doc of canaryMetrics) {
      expect(doc).toMatchObject({ Domain: DOMAIN, CanarySigned: 1, CanaryDmarcPass: 1 });
      expect(doc.CanaryLatencySeconds).toBeGreaterThanOrEqual(0);
    }
    const state = await storedState();
    for (const region of REGIONS)
      expect(state.canary?.regions[region]?.lastSigned?.selector, region).toBe(active);
    // Judged and deleted (retention 0): the inbox is empty again.
    const left = await s3.send(new ListObjectsV2Command({ Bucket: CANARY_BUCKET, Prefix: CANARY_PREFIX }));
    expect(left.Contents ?? []).toEqual([]);
  });

  it('stops at its deadline within the SES budget, counts what it deferred, and takes it first next run', async () => {
    // SES's documented budget: 1 request/s per region. Ten new domains need more than the run has.
    const fleet = Array.from({ length: 10 }, (_, i) => `d${i}.deadline.test`);
    for (const domain of fleet) dns.store.addZone(domain, { nameservers: [`ns1.${domain}`] });
    const fleetConfig = config.replace(
      /domains:\n[\s\S]*$/,
      `domains:\n${fleet.map((d) => `  - { domain: ${d}, regions: [${REGIONS.join(', ')}], selectorPrefix: mail, createIdentity: true }`).join('\n')}\n`,
    );
    ses.setRate(1);
    ses.resetCounters();
    let run: Invocation;
    try {
      run = await invoke([SCHEDULED, SCHEDULED], {
        BYODKIM_CONFIG: fleetConfig,
        BYODKIM_CONCURRENCY: '1',
        BYODKIM_DEADLINE_MARGIN_MS: '4000',
        RUNNER_REMAINING_MS: '10000',
      });
    } finally {
      ses.setRate(null);
    }
    expect(run.stderr).toBe('');
    const [first, second] = run.results as PassResponse[];
    // The first run stopped at its deadline: some domains were deferred (SES work or not started), none failed.
    expect(first?.counts.failed).toBe(0);
    expect(first?.deferred.length).toBeGreaterThan(0);
    expect(first?.deferred).toEqual(expect.arrayContaining(first?.skipped ?? []));
    // The next run takes them first, in that order, and gets to the first of them.
    expect(second?.domains.map((d) => d.domain).slice(0, first?.deferred.length)).toEqual(first?.deferred);
    expect(second?.deferred).not.toContain(first?.deferred[0]);
    expect(second?.counts.failed).toBe(0);
    // Counted: the runs' own SES counts are the emulator's, and the metrics say the same.
    const emulatorCalls = Object.entries(ses.counters())
      .filter(([k]) => !k.includes('@'))
      .reduce((n, [, v]) => n + v, 0);
    expect((first?.ses?.calls ?? 0) + (second?.ses?.calls ?? 0)).toBe(emulatorCalls);
    const throttled = Object.entries(ses.rejections())
      .filter(([k]) => k.startsWith('throttled@'))
      .reduce((n, [, v]) => n + v, 0);
    expect((first?.ses?.throttled ?? 0) + (second?.ses?.throttled ?? 0)).toBe(throttled);
    const aggregates = lines(run).filter((l) => '_aws' in l && !('Domain' in l));
    expect(aggregates.map((a) => a.DomainsDeferred)).toEqual([
      first?.deferred.length,
      second?.deferred.length,
    ]);
    expect(aggregates.map((a) => a.SesCalls)).toEqual([first?.ses?.calls, second?.ses?.calls]);
    expect(aggregates.every((a) => typeof a.SesThrottled === 'number')).toBe(true);
    expect(
      lines(run).some(
        (l) => l.reason === 'DeadlineReached' && Array.isArray(l.deferred) && l.level === 'warn',
      ),
    ).toBe(true);
  });

  it('never lets any private key material out: stdout and stderr of every process vs the keys in S3', async () => {
    const s3 = clients.client('s3', 'us-east-1', (c) => new S3Client(c));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k.endsWith('.pem'));
    expect(keys.length).toBeGreaterThanOrEqual(2); // the first key and the rotated-to key
    const everything = outputs
      .map((o) => `${o.stdout}\n${o.stderr}\n${JSON.stringify(o.results)}`)
      .join('\n');
    expect(everything.length).toBeGreaterThan(1_000);
    expect(everything).not.toContain('PRIVATE KEY');
    for (const key of keys) {
      const pem = await (
        await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
      ).Body?.transformToString();
      const body = (pem ?? '')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('-----'))
        .join('');
      expect(body.length).toBeGreaterThan(500);
      // Every 32-character window, stepping by 16: no fragment of the key survives anywhere.
      for (let i = 0; i + 32 <= body.length; i += 16) expect(everything).not.toContain(body.slice(i, i + 32));
      for (const line of (pem ?? '').split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')))
        expect(everything).not.toContain(line);
    }
    // The state records name keys, never hold them.
    expect(JSON.stringify(await storedState())).not.toContain('PRIVATE KEY');
  });
});
