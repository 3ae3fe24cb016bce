/**
 * Where the function's config comes from and what init builds from it, offline: the AWS
 * adapters are only constructed (no call is made until a pass runs).
 */
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { InputError } from '../../../src/errors.js';
import {
  type ConfigReaders,
  defaultReaders,
  parseS3Uri,
  readConfigText,
  SSM_MODULE,
} from '../../../src/lambda/config-source.js';
import { CONFIG_PATH, initRuntime } from '../../../src/lambda/runtime.js';

const CONFIG = `
keys: { type: s3, bucket: byodkim-keys, kmsKeyId: alias/byodkim }
state: { type: dynamodb, table: byodkim-state }
dns: { provider: rfc2136, server: "127.0.0.1:5353", tsig: { name: byodkim-key, secretEnv: BYODKIM_TSIG_SECRET } }
notify:
  - { type: sns, topicArn: "arn:aws:sns:us-east-1:123456789012:byodkim" }
  - { type: webhook, url: "https://hooks.example.com/byodkim" }
  - { type: stdout }
domains:
  - { domain: example.com, regions: [us-east-1, ap-northeast-1] }
  - { domain: example.org, regions: [eu-west-1], dns: { provider: manual, outDir: dns-requests } }
`;

const ENV = {
  BYODKIM_TSIG_SECRET: Buffer.alloc(32, 7).toString('base64'),
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'byodkim-rotation',
};

function readers(overrides: Partial<ConfigReaders> = {}): ConfigReaders {
  return {
    s3: vi.fn(async () => {
      throw new Error('unexpected S3 read');
    }),
    ssm: vi.fn(async () => {
      throw new Error('unexpected SSM read');
    }),
    ...overrides,
  };
}

describe('config source', () => {
  it('takes BYODKIM_CONFIG first, then BYODKIM_CONFIG_S3, then BYODKIM_CONFIG_PARAMETER', async () => {
    const r = readers({ s3: vi.fn(async () => 's3 text'), ssm: vi.fn(async () => 'ssm text') });
    expect(
      await readConfigText(
        { BYODKIM_CONFIG: 'inline', BYODKIM_CONFIG_S3: 's3://b-1/k', BYODKIM_CONFIG_PARAMETER: '/p' },
        r,
      ),
    ).toEqual({ text: 'inline', source: 'BYODKIM_CONFIG' });
    expect(
      await readConfigText(
        { BYODKIM_CONFIG_S3: 's3://cfg-bucket/byodkim/config.yaml', BYODKIM_CONFIG_PARAMETER: '/p' },
        r,
      ),
    ).toEqual({
      text: 's3 text',
      source: 'BYODKIM_CONFIG_S3 s3://cfg-bucket/byodkim/config.yaml',
    });
    expect(r.s3).toHaveBeenCalledWith('cfg-bucket', 'byodkim/config.yaml');
    expect(await readConfigText({ BYODKIM_CONFIG_PARAMETER: '/byodkim/config' }, r)).toEqual({
      text: 'ssm text',
      source: 'BYODKIM_CONFIG_PARAMETER /byodkim/config',
    });
    expect(r.ssm).toHaveBeenCalledWith('/byodkim/config');
  });

  it('says which variables to set when none is', async () => {
    await expect(readConfigText({ BYODKIM_CONFIG: '  ' }, readers())).rejects.toMatchObject({
      code: 'CONFIG_SOURCE_MISSING',
      message: expect.stringContaining('BYODKIM_CONFIG_PARAMETER'),
    });
  });

  it.each(['bucket/key', 's3://', 's3://bucket', 's3://UPPER/key', 'https://bucket.s3.amazonaws.com/key'])(
    'refuses the S3 URI %s',
    (uri) => {
      expect(() => parseS3Uri(uri)).toThrow(InputError);
    },
  );

  it('names the source when it cannot be read', async () => {
    const r = readers({
      ssm: vi.fn(async () => {
        throw new Error('ParameterNotFound');
      }),
    });
    await expect(readConfigText({ BYODKIM_CONFIG_PARAMETER: '/missing' }, r)).rejects.toMatchObject({
      code: 'CONFIG_SOURCE_UNREADABLE',
      message: 'BYODKIM_CONFIG_PARAMETER /missing: cannot be read: ParameterNotFound',
    });
  });

  const ssmInstalled = (() => {
    try {
      createRequire(import.meta.url).resolve(SSM_MODULE);
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(ssmInstalled)(`explains that ${SSM_MODULE} is missing, naming the other sources`, async () => {
    await expect(defaultReaders({}).ssm('/byodkim/config')).rejects.toMatchObject({
      code: 'CONFIG_SOURCE_UNAVAILABLE',
      message: expect.stringMatching(/BYODKIM_CONFIG_PARAMETER.*BYODKIM_CONFIG or BYODKIM_CONFIG_S3/),
    });
  });
});

describe('initRuntime', () => {
  it('builds the engine for the config: S3 vault, DynamoDB state, SNS + webhook + stdout notifiers, per-domain DNS', async () => {
    const runtime = await initRuntime({ env: { ...ENV, BYODKIM_CONFIG: CONFIG }, readers: readers() });
    expect(runtime.source).toBe('BYODKIM_CONFIG');
    expect(runtime.loaded.domains.map((d) => d.domain)).toEqual(['example.com', 'example.org']);
    expect(runtime.deps.vault.description).toContain('s3://byodkim-keys/dkim-keys/');
    expect(runtime.deps.state.description).toContain('dynamodb:byodkim-state');
    expect(runtime.deps.actor).toEqual({ kind: 'lambda', user: 'byodkim-rotation' });
    const [com, org] = runtime.loaded.domains;
    expect(com && runtime.deps.publisherFor(com.domain).mode).toBe('automatic');
    expect(org && runtime.deps.publisherFor(org.domain).description).toBe(
      'manual hand-off to /tmp/dns-requests',
    );
    expect(runtime.newProbe?.()).not.toBe(runtime.newProbe?.());
  });

  it('names the config source, not a stand-in path, in config errors', async () => {
    const error = await initRuntime({
      env: { ...ENV, BYODKIM_CONFIG: 'domains:\n  - { domain: example.com, regions: [mars-north-1] }\n' },
      readers: readers(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('CONFIG_INVALID');
    expect((error as InputError).message).toContain('BYODKIM_CONFIG: invalid config');
    expect((error as InputError).message).toContain('mars-north-1');
    expect((error as InputError).message).not.toContain(CONFIG_PATH);
  });

  it.each([
    [
      'keys on local disk',
      'keys: { type: file }\nstate: { type: dynamodb, table: t-1 }',
      'LAMBDA_LOCAL_KEYS',
    ],
    ['state on local disk', 'keys: { type: s3, bucket: b-1 }\nstate: { type: file }', 'LAMBDA_LOCAL_STATE'],
    ['the default (file) stores', '', 'LAMBDA_LOCAL_KEYS'],
  ])('refuses %s (invariant 5: no key on the function disk)', async (_name, stores, code) => {
    await expect(
      initRuntime({
        env: {
          ...ENV,
          BYODKIM_CONFIG: `${stores}\ndomains: [{ domain: example.com, regions: [us-east-1] }]\n`,
        },
        readers: readers(),
      }),
    ).rejects.toMatchObject({ code });
  });

  it('fails init when a TSIG secret variable is missing', async () => {
    const { BYODKIM_TSIG_SECRET: _, ...env } = ENV;
    await expect(
      initRuntime({ env: { ...env, BYODKIM_CONFIG: CONFIG }, readers: readers() }),
    ).rejects.toThrow(/BYODKIM_TSIG_SECRET/);
  });
});
