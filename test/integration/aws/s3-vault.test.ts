import { inspect } from 'node:util';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { S3KeyVault } from '../../../src/adapters/aws/s3-vault.js';
import { AlreadyExistsError, CorruptDataError, ReadBackError, ServiceError } from '../../../src/errors.js';
import { describeKeyVaultContract } from '../../contract/key-vault.js';
import { secretSlices, testKey } from '../../support/keys.js';
import { motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'ap-northeast-1';
const BUCKET = 'byodkim-test-keys';

describe.skipIf(support.skip)(`S3 key vault against moto${support.label}`, () => {
  const moto = useMoto();
  let clients: AwsClientFactory;
  let s3: S3Client;
  let kmsKeyId: string;

  beforeAll(async () => {
    clients = motoClients(moto.endpoint);
    s3 = clients.client('s3', REGION, (c) => new S3Client(c));
    const kms = clients.client('kms', REGION, (c) => new KMSClient(c));
    kmsKeyId = (await kms.send(new CreateKeyCommand({ Description: 'byodkim test' }))).KeyMetadata
      ?.KeyId as string;
    await s3.send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
  });

  const vault = (options: Partial<ConstructorParameters<typeof S3KeyVault>[0]> = {}): S3KeyVault =>
    new S3KeyVault({ bucket: BUCKET, region: REGION, kmsKeyId, clients, ...options });

  describeKeyVaultContract('S3KeyVault (retired keys deleted)', () => vault());
  describeKeyVaultContract('S3KeyVault (retired keys archived)', () => vault({ retired: 'archive' }));

  const body = async (key: string): Promise<string> =>
    (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString()) ??
    '';

  it('stores keys in the seed layout with SSE-KMS under the configured key and reads them back', async () => {
    const key = await testKey('s3-a');
    const ref = await vault().put('goo.ne.jp', 'gooid-21-pro-20250917-3', key);
    expect(ref).toBe(`s3://${BUCKET}/dkim-keys/goo.ne.jp/gooid-21-pro-20250917-3/private_key.pem`);

    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: BUCKET,
        Key: 'dkim-keys/goo.ne.jp/gooid-21-pro-20250917-3/private_key.pem',
      }),
    );
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toContain(kmsKeyId);

    expect((await vault().get('goo.ne.jp', 'gooid-21-pro-20250917-3'))?.samePair(key)).toBe(true);
    expect(vault().description).toBe(`s3://${BUCKET}/dkim-keys/`);
  });

  it('moto honours If-None-Match on PutObject (so no HEAD-before-PUT guard is needed here)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/inm', Body: 'one', IfNoneMatch: '*' }));
    const error = await s3
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe/inm', Body: 'two', IfNoneMatch: '*' }))
      .catch((e: unknown) => e);
    expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(412);
    expect(await body('probe/inm')).toBe('one');
  });

  it('with guardWithHead, refuses an existing selector even when the store ignores If-None-Match', async () => {
    // A client that drops the If-None-Match header, as some S3-compatible stores effectively do.
    const lax = new S3Client(clients.config('s3', REGION));
    lax.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) delete request.headers['if-none-match'];
        return next(args);
      },
      { step: 'build', name: 'dropIfNoneMatch' },
    );
    const first = await testKey('s3-g1');
    await vault({ client: lax }).put('guard.example', 's1', first);
    await expect(
      vault({ client: lax, guardWithHead: true }).put('guard.example', 's1', await testKey('s3-g2')),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await vault().get('guard.example', 's1'))?.samePair(first)).toBe(true);
    lax.destroy();
  });

  it('detects a read-back mismatch (a client that corrupts what GetObject returns)', async () => {
    const other = await testKey('s3-other');
    const corrupting = new S3Client(clients.config('s3', REGION));
    corrupting.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'GetObjectCommand') {
          const output = result.output as { Body?: { transformToString(): Promise<string> } };
          await output.Body?.transformToString(); // drain the real body so its socket is released
          output.Body = { transformToString: async () => other.toPem() };
        }
        return result;
      },
      { step: 'initialize', name: 'corruptGetObject' },
    );
    const error = await vault({ client: corrupting })
      .put('readback.example', 's1', await testKey('s3-rb'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadBackError);
    expect((error as Error).message).toContain('readback.example/s1/private_key.pem');
    corrupting.destroy();
  });

  it('reports a corrupt key object clearly and leaves it untouched', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'dkim-keys/corrupt.example/s1/private_key.pem',
        Body: 'garbage',
      }),
    );
    const error = await vault()
      .get('corrupt.example', 's1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptDataError);
    expect((error as Error).message).toContain(
      's3://byodkim-test-keys/dkim-keys/corrupt.example/s1/private_key.pem',
    );
    expect(await body('dkim-keys/corrupt.example/s1/private_key.pem')).toBe('garbage');
  });

  it('reads a key by an explicit S3 path (s3:// URI or object key in the bucket)', async () => {
    const key = await testKey('s3-path');
    const ref = await vault().put('path.example', 's1', key);
    expect((await vault().getAt(ref))?.samePair(key)).toBe(true);
    expect((await vault().getAt('dkim-keys/path.example/s1/private_key.pem'))?.samePair(key)).toBe(true);
    expect(await vault().getAt(`s3://${BUCKET}/dkim-keys/path.example/none/private_key.pem`)).toBeUndefined();
  });

  it('retires by archiving under <prefix>.archive/ with SSE-KMS, idempotently', async () => {
    const archiving = vault({ retired: 'archive', now: () => new Date('2026-01-02T03:04:05Z') });
    const key = await testKey('s3-r2');
    await archiving.put('archive.example', 's2', key);
    await archiving.retire('archive.example', 's2');
    await archiving.retire('archive.example', 's2');
    expect(await archiving.list('archive.example')).toEqual([]);
    const archivedKey = 'dkim-keys/.archive/archive.example/s2-2026-01-02T030405000Z.pem';
    expect(await body(archivedKey)).toBe(key.toPem());
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: archivedKey }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dkim-keys/.archive/archive.example/' }),
    );
    expect(listed.Contents?.map((o) => o.Key)).toEqual([archivedKey]);
  });

  it('names bucket, key, region and operation on S3 errors, and never carries key material', async () => {
    const key = await testKey('s3-err');
    const error = await new S3KeyVault({ bucket: 'no-such-bucket-here', region: REGION, clients })
      .put('example.com', 's1', key)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    const message = (error as Error).message;
    expect(message).toContain('S3 PutObject');
    expect(message).toContain('no-such-bucket-here');
    expect(message).toContain('dkim-keys/example.com/s1/private_key.pem');
    expect(message).toContain(REGION);
    expect((error as ServiceError).context).toMatchObject({ operation: 'PutObject', region: REGION });
    const everything = `${message} ${JSON.stringify((error as ServiceError).context)} ${inspect(error, { depth: 5 })}`;
    const pemBody = key.toPem().split('\n')[1] as string;
    expect(everything).not.toContain(pemBody);
    for (const secret of secretSlices(key)) expect(everything).not.toContain(secret);
  });
});
