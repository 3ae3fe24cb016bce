/**
 * Issue 20's acceptance: a fleet past one AWS account, through the real engine and the real
 * AWS SDK.
 *
 *   central account  123456789012: the key vault (S3) and the state (DynamoDB) on one moto
 *                    server; STS and IAM on another, with an IAM user as byodkim's own
 *                    credentials. That moto enforces IAM authorization, so what the user may
 *                    do is what its policy says: sts:AssumeRole on the roles of brand-a and
 *                    brand-b only. (Two servers: moto 5.2 enforcing IAM computes S3 signatures
 *                    differently from the SDK when a ListObjectsV2 prefix holds a "/", so the
 *                    storage runs on a moto that checks none.)
 *   brand-a, brand-b member accounts 111111111111 and 222222222222: their SES is the
 *                    emulator, which files each request under the account moto's STS issued
 *                    the credentials in (emulator/SPEC.md §1), at SES's budget of one request
 *                    per second per account and region.
 *   brand-c          333333333333: byodkim may not assume its role (AccessDenied from moto).
 *   own              one domain in the caller's own account.
 *
 * The Lambda handler runs in this process on a virtual clock, over every account at once (and
 * the CLI once, for its exit code). Counts and call outcomes are asserted, never times or rates.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../emulator/clock.js';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { ZoneStore } from '../../../emulator/dns/zone-store.js';
import { SesEmulator } from '../../../emulator/ses/server.js';
import { createHandler, type HandlerResponse, type PassResponse } from '../../../src/lambda/handler.js';
import { initRuntime, type LambdaRuntime } from '../../../src/lambda/runtime.js';
import { runCli } from '../../support/cli.js';
import { MOTO_CREDENTIALS, motoQuery, motoSupport, useMoto } from '../../support/moto.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** brand-a signs in eu-west-1 only; brand-b in eu-west-1 and in us-east-1, where brand-a has nothing. */
const SHARED = 'eu-west-1';
const B_ONLY = 'us-east-1';
const REGIONS_OF = { 'brand-a': [SHARED], 'brand-b': [SHARED, B_ONLY], 'brand-c': [SHARED] } as const;
const BUCKET = 'byodkim-central-keys';
const TABLE = 'byodkim-central-state';
const TSIG_ENV = 'BYODKIM_TSIG_SECRET';
const ACCOUNTS = {
  'brand-a': '111111111111',
  'brand-b': '222222222222',
  'brand-c': '333333333333',
} as const;
type Member = keyof typeof ACCOUNTS;
const CENTRAL = '123456789012';
const DOMAINS: Record<string, Member | 'own'> = {
  'a1.example': 'brand-a',
  'a2.example': 'brand-a',
  'b1.example': 'brand-b',
  'b2.example': 'brand-b',
  'b3.example': 'brand-b',
  'b4.example': 'brand-b',
  'b5.example': 'brand-b',
  'b6.example': 'brand-b',
  'c1.example': 'brand-c',
  'own.example': 'own',
};
const ofAccount = (account: Member | 'own'): string[] =>
  Object.keys(DOMAINS).filter((d) => DOMAINS[d] === account);
const roleArn = (account: Member): string => `arn:aws:iam::${ACCOUNTS[account]}:role/byodkim-member`;

function asPass(response: HandlerResponse): PassResponse {
  if (!('counts' in response)) throw new Error(`not a pass: ${JSON.stringify(response)}`);
  return response;
}

const support = motoSupport();

describe.skipIf(support.skip)(
  `fleets past one account: assumed roles, a budget per account${support.label}`,
  () => {
    const moto = useMoto(); // S3 and DynamoDB of the central account
    const iamMoto = useMoto(); // IAM and STS, enforcing IAM authorization
    const clock = new VirtualClock('2026-03-02T00:00:00Z');
    const tsigSecret = randomBytes(32).toString('base64');
    const env: Record<string, string> = {};
    const savedEnv: Record<string, string | undefined> = {};
    let dns: EmbeddedDnsServer;
    let ses: SesEmulator;
    let dir: string;
    let runtime: LambdaRuntime;
    let handle: ReturnType<typeof createHandler>;
    let central: { accessKeyId: string; secretAccessKey: string };
    const closers: Array<{ destroy(): void }> = [];
    const runs: PassResponse[] = [];

    beforeAll(async () => {
      const store = new ZoneStore();
      for (const domain of Object.keys(DOMAINS)) store.addZone(domain, { nameservers: [`ns1.${domain}`] });
      dns = await EmbeddedDnsServer.start({
        store,
        tsigKeys: [{ name: 'byodkim-key', algorithm: 'hmac-sha256', secret: tsigSecret }],
      });
      // SES's own defaults: 1 request/s per account and region, checks on the SES clock.
      ses = await SesEmulator.start({
        dns: { host: dns.host, port: dns.port },
        clock,
        stsEndpoint: iamMoto.endpoint,
      });

      // The central account, set up with moto's test credentials before it enforces IAM.
      const setup = { endpoint: moto.endpoint, region: 'us-east-1', credentials: MOTO_CREDENTIALS };
      const s3 = new S3Client({ ...setup, forcePathStyle: true });
      const dynamodb = new DynamoDBClient(setup);
      closers.push(s3, dynamodb);
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      await dynamodb.send(
        new CreateTableCommand({
          TableName: TABLE,
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await motoQuery(iamMoto.endpoint, 'iam', { Action: 'CreateUser', UserName: 'byodkim-central' });
      await motoQuery(iamMoto.endpoint, 'iam', {
        Action: 'PutUserPolicy',
        UserName: 'byodkim-central',
        PolicyName: 'byodkim',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            // brand-c's role is not among them: assuming it is refused.
            { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [roleArn('brand-a'), roleArn('brand-b')] },
          ],
        }),
      });
      const key = await motoQuery(iamMoto.endpoint, 'iam', {
        Action: 'CreateAccessKey',
        UserName: 'byodkim-central',
      });
      central = {
        accessKeyId: /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(key)?.[1] ?? '',
        secretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(key)?.[1] ?? '',
      };
      expect(central.accessKeyId).not.toBe('');
      const enforced = await fetch(`${iamMoto.endpoint}/moto-api/reset-auth`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '0',
      });
      expect(enforced.ok).toBe(true);

      const server = `${dns.host}:${dns.port}`;
      const config = [
        'version: 1',
        // A short life, so a scheduled rotation follows onboarding within days of the virtual clock.
        'policy: { verifyChecks: 1, renewalSpreadDays: 0, validityDays: 4, renewBeforeDays: 2, graceDays: 1, keyBits: 1024 }',
        `keys: { type: s3, bucket: ${BUCKET} }`,
        `state: { type: dynamodb, table: ${TABLE} }`,
        `dns: { provider: rfc2136, server: "${server}", tsig: { name: byodkim-key, algorithm: hmac-sha256, secretEnv: ${TSIG_ENV} } }`,
        `probe: { nameservers: ["${server}"], timeoutMs: 1000 }`,
        'notify: [{ type: stdout }]',
        `aws: { endpoints: { sesv2: "${ses.endpoint}", s3: "${moto.endpoint}", dynamodb: "${moto.endpoint}", sts: "${iamMoto.endpoint}" }, maxAttempts: 5 }`,
        'accounts:',
        ...(Object.keys(ACCOUNTS) as Member[]).map(
          (name) =>
            `  - { name: ${name}, roleArn: "${roleArn(name)}", externalId: byodkim-${name}-ext, regions: [${REGIONS_OF[name].join(', ')}] }`,
        ),
        'domains:',
        ...Object.entries(DOMAINS).map(([domain, account]) =>
          account === 'own'
            ? `  - { domain: ${domain}, regions: [us-east-1], createIdentity: true }`
            : `  - { domain: ${domain}, account: ${account}, createIdentity: true }`,
        ),
        '',
      ].join('\n');
      dir = await mkdtemp(join(tmpdir(), 'byodkim-accounts-'));
      await writeFile(join(dir, 'byodkim.config.yaml'), config);

      // byodkim's own credentials are the central user's, from the SDK's default chain.
      Object.assign(env, {
        AWS_ACCESS_KEY_ID: central.accessKeyId,
        AWS_SECRET_ACCESS_KEY: central.secretAccessKey,
        AWS_REGION: 'us-east-1',
        [TSIG_ENV]: tsigSecret,
      });
      for (const [name, value] of Object.entries(env)) {
        savedEnv[name] = process.env[name];
        process.env[name] = value;
      }
      runtime = await initRuntime({ env: { ...env, BYODKIM_CONFIG: config }, clock });
      handle = createHandler({
        init: async () => runtime,
        env: { BYODKIM_DEADLINE_MARGIN_MS: '60000' },
        write: () => undefined,
        now: () => clock.now(),
        random: () => 0,
      });
    });

    afterAll(async () => {
      for (const [name, value] of Object.entries(savedEnv)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      for (const c of closers) c.destroy();
      await ses?.stop();
      await dns?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** One scheduled run over every account, then an hour passes. */
    async function hourlyRun(): Promise<PassResponse> {
      const response = asPass(
        await handle(
          { action: 'phase_manager' },
          { awsRequestId: `run-${runs.length}`, getRemainingTimeInMillis: () => 600_000 },
        ),
      );
      runs.push(response);
      clock.advance(HOUR);
      return response;
    }

    const active = (run: PassResponse, domain: string): string | undefined =>
      run.domains.find((d) => d.domain === domain)?.active?.selector;
    const working = [...ofAccount('brand-a'), ...ofAccount('brand-b'), ...ofAccount('own')];

    it('onboards brand-a’s and brand-b’s domains in their own accounts while brand-c fails alone with a named error', async () => {
      let last: PassResponse | undefined;
      for (let i = 0; i < 8; i++) {
        last = await hourlyRun();
        if (working.every((d) => last?.domains.find((s) => s.domain === d)?.outcome === 'ok')) break;
      }
      const run = last as PassResponse;
      for (const domain of working)
        expect(run.domains.find((d) => d.domain === domain)?.outcome, domain).toBe('ok');
      // Every run: brand-c's domain failed with the named error, and nothing else failed.
      for (const r of runs) {
        expect(r.counts.failed).toBe(1);
        const c1 = r.domains.find((d) => d.domain === 'c1.example');
        expect(c1?.outcome).toBe('failed');
        expect(c1?.account).toBe('brand-c');
        expect(c1?.errors.join(' ')).toContain(
          `account "brand-c": cannot assume ${roleArn('brand-c')}: AccessDenied: User: arn:aws:iam::${CENTRAL}:user/byodkim-central is not authorized to perform: sts:AssumeRole`,
        );
      }
      // The identities and the keys SES holds are in each domain's own account, SES signs there.
      for (const account of ['brand-a', 'brand-b'] as const) {
        for (const domain of ofAccount(account)) {
          for (const region of REGIONS_OF[account]) {
            const puts = ses.keyPuts({ account: ACCOUNTS[account], region, identity: domain });
            expect(
              puts.map((p) => p.selector),
              `${domain} ${region}`,
            ).toEqual([active(run, domain)]);
            const sample = await ses.signSample(region, domain, { account: ACCOUNTS[account] });
            expect(sample.signedWithDomainKey, `${domain} ${region}`).toBe(true);
          }
          expect(ses.keyPuts({ account: CENTRAL, identity: domain })).toEqual([]);
        }
      }
      expect(ses.keyPuts({ account: CENTRAL }).map((p) => p.identity)).toEqual(['own.example']);
      // brand-c's role was never assumed: no SES call ever reached its account.
      expect(ses.counters(ACCOUNTS['brand-c'])).toEqual({});
      expect(run.sesByAccount?.['brand-c']).toEqual({ calls: 0, throttled: 0, deferred: 0 });
      // Keys stay in the central account's vault.
      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        credentials: central,
        forcePathStyle: true,
      });
      closers.push(s3);
      const stored = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? [];
      for (const domain of working)
        expect(
          stored.some((o) => o.Key?.startsWith(`dkim-keys/${domain}/${active(run, domain)}/`)),
          domain,
        ).toBe(true);
    }, 600_000);

    it('rotates both accounts’ domains in one run: every put of the switch in the same invocation', async () => {
      const before = Object.fromEntries(working.map((d) => [d, active(runs.at(-1) as PassResponse, d)]));
      clock.advance(2 * DAY + HOUR); // into the renewal window of every key
      const first = runs.length;
      for (let i = 0; i < 10; i++) {
        const run = await hourlyRun();
        if (
          working.every(
            (d) => active(run, d) !== before[d] && run.domains.find((s) => s.domain === d)?.outcome === 'ok',
          )
        )
          break;
      }
      const rotation = runs.slice(first);
      for (const domain of working)
        expect(active(rotation.at(-1) as PassResponse, domain), domain).not.toBe(before[domain]);
      // The run that switched SES: one invocation put every brand-a and brand-b domain's new key in every region.
      const switched = rotation.find((r) =>
        r.domains.some((d) => d.steps.some((s) => s.kind === 'ses-put' && s.status === 'done')),
      );
      const putsIn = (domain: string) =>
        switched?.domains
          .find((d) => d.domain === domain)
          ?.steps.filter((s) => s.kind === 'ses-put' && s.status === 'done')
          .map((s) => s.region)
          .sort();
      for (const domain of [...ofAccount('brand-a'), ...ofAccount('brand-b')])
        expect(putsIn(domain), domain).toEqual([...REGIONS_OF[DOMAINS[domain] as Member]]);
      for (const account of ['brand-a', 'brand-b'] as const)
        for (const domain of ofAccount(account))
          for (const region of REGIONS_OF[account])
            expect(
              ses.keyPuts({ account: ACCOUNTS[account], region, identity: domain }).map((p) => p.selector),
            ).toEqual([before[domain], active(rotation.at(-1) as PassResponse, domain)]);
      for (const r of rotation)
        expect(r.domains.filter((d) => d.outcome === 'failed').map((d) => d.domain)).toEqual(['c1.example']);
    }, 600_000);

    it('a throttled account does not slow the other: brand-b’s calls in the region it shares with brand-a keep pace with its calls elsewhere', async () => {
      // brand-a's SES throttles every call for a while (on top of the 1 request/s budget);
      // brand-b's is left alone. One status run reads every domain in every region.
      ses.resetCounters();
      ses.injectFault({ account: ACCOUNTS['brand-a'], status: 429, count: 50 });
      const response = asPass(
        await handle(
          { action: 'status' },
          { awsRequestId: 'throttled', getRemainingTimeInMillis: () => 60_000 + 20_000 },
        ),
      );
      ses.clearFaults();
      const reads = ofAccount('brand-b').length;
      // brand-b: every read answered, none throttled, none deferred.
      expect(response.sesByAccount?.['brand-b']).toEqual({ calls: 2 * reads, throttled: 0, deferred: 0 });
      for (const domain of ofAccount('brand-b')) {
        const summary = response.domains.find((d) => d.domain === domain);
        for (const region of REGIONS_OF['brand-b'])
          expect(summary?.ses?.[region], `${domain} ${region}`).toMatchObject({ status: 'SUCCESS' });
      }
      expect(ses.rejections(ACCOUNTS['brand-b'])).toEqual({});
      // The order brand-b's reads reached SES in: in the region it shares with the throttled
      // account they keep pace with those in the region it has alone (two budgets at the same
      // rate, started together). Were the throttled account's slowdown shared, the shared
      // region's reads would fall behind as brand-a's throttled calls took their slots.
      const order = ses.requests(ACCOUNTS['brand-b']).map((r) => r.region);
      expect(order.filter((r) => r === SHARED)).toHaveLength(reads);
      expect(order.filter((r) => r === B_ONLY)).toHaveLength(reads);
      let lead = 0;
      let ahead = 0;
      for (const region of order) {
        ahead += region === B_ONLY ? 1 : -1;
        lead = Math.max(lead, ahead);
      }
      expect(lead, `brand-b's reads in order of arrival: ${order.join(' ')}`).toBeLessThanOrEqual(2);
      // brand-a: throttled in the shared region meanwhile, and what its own budget could not fit
      // before the deadline deferred.
      const a = ses.requests(ACCOUNTS['brand-a']);
      expect(a.filter((r) => r.admitted === 'faulted').length).toBeGreaterThanOrEqual(2);
      expect(a.every((r) => r.region === SHARED && r.admitted !== 'accepted')).toBe(true);
      expect(response.sesByAccount?.['brand-a']?.deferred).toBeGreaterThan(0);
      for (const domain of ofAccount('brand-a')) {
        const summary = response.domains.find((d) => d.domain === domain);
        expect(summary?.ses?.[SHARED], domain).toHaveProperty('error');
      }
    }, 120_000);

    it('the CLI exits 1 for the account whose role cannot be assumed, naming it, and status shows each account', async () => {
      const cliEnv = { ...env, AWS_PROFILE: '' };
      const failed = await runCli(['apply', '--account', 'brand-c', '--now', clock.now().toISOString()], {
        cwd: dir,
        env: cliEnv,
      });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(
        `c1.example: account "brand-c": cannot assume ${roleArn('brand-c')}: AccessDenied`,
      );
      const status = await runCli(
        ['status', '--output', 'json', '--account', 'brand-b', '--now', clock.now().toISOString()],
        {
          cwd: dir,
          env: cliEnv,
        },
      );
      expect(status.code, status.stderr).toBe(0);
      const rows = JSON.parse(status.stdout) as Array<{ domain: string; account: string; active?: string }>;
      expect(rows.map((r) => [r.domain, r.account])).toEqual(ofAccount('brand-b').map((d) => [d, 'brand-b']));
      expect(rows.every((r) => r.active !== undefined)).toBe(true);
    }, 120_000);
  },
);
