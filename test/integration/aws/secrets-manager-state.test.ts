import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { writeSecretSuccessor } from '../../../src/adapters/aws/secret-cas.js';
import { SecretsManagerStateStore } from '../../../src/adapters/aws/secrets-manager-state.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import { type DomainState, emptyDomainState, type KeyEntry } from '../../../src/domain/state.js';
import { CorruptDataError, InputError } from '../../../src/errors.js';
import { describeStateStoreContract } from '../../contract/state-store.js';
import { testKey } from '../../support/keys.js';
import { motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'eu-west-1';

async function stateWithKey(
  domain: string,
  selector: string,
  status: KeyEntry['status'],
): Promise<DomainState> {
  const key = await testKey('sm-state', 1024);
  return {
    ...emptyDomainState(domain),
    keys: [
      {
        selector,
        bits: 1024,
        publicKey: key.publicKey,
        vaultRef: `s3://keys-bucket/dkim-keys/${domain}/${selector}/private_key.pem`,
        origin: 'generated',
        createdAt: '2026-01-01T00:00:00.000Z',
        notAfter: '2027-01-01T00:00:00.000Z',
        status,
        statusSince: '2026-01-01T00:00:00.000Z',
      },
    ],
  };
}

describe.skipIf(support.skip)(`Secrets Manager state store against moto${support.label}`, () => {
  const moto = useMoto();
  let clients: AwsClientFactory;
  let sm: SecretsManagerClient;

  beforeAll(() => {
    clients = motoClients(moto.endpoint);
    sm = clients.client('secretsmanager', REGION, (c) => new SecretsManagerClient(c));
  });

  const store = (options: Partial<ConstructorParameters<typeof SecretsManagerStateStore>[0]> = {}) =>
    new SecretsManagerStateStore({ region: REGION, clients, ...options });

  const secretJson = async (name: string): Promise<Record<string, unknown>> =>
    JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '{}');

  describeStateStoreContract('SecretsManagerStateStore', ({ now }) => store({ now }));

  it('round-trips state with VersionIds as versions, in seed-compatible JSON', async () => {
    const s = store({ now: () => new Date('2026-02-01T00:00:00Z') });
    expect(await s.load('example.com')).toBeUndefined();
    const state = await stateWithKey('example.com', 'example-20260101-1', 'active');
    const v1 = await s.save(state, undefined);
    const loaded = await s.load('example.com');
    expect(loaded).toEqual({ value: state, version: v1 });
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'byodkim/example.com' }));
    expect(described.VersionIdsToStages?.[v1]).toContain('AWSCURRENT');

    const json = await secretJson('byodkim/example.com');
    expect(json).toMatchObject({
      domain: 'example.com',
      selector: 'example-20260101-1',
      dns_record: {
        name: 'example-20260101-1._domainkey.example.com',
        type: 'TXT',
        value: buildDkimRecordValue(state.keys[0]?.publicKey as string),
      },
      s3_key_path: 's3://keys-bucket/dkim-keys/example.com/example-20260101-1/private_key.pem',
      created_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2027-01-01T00:00:00.000Z',
      updated_at: '2026-02-01T00:00:00.000Z',
      byodkim: state,
    });
    expect(JSON.stringify(json)).not.toContain('PRIVATE KEY');

    const v2 = await s.save({ ...state, history: [] }, v1);
    expect(v2).not.toBe(v1);
    expect((await s.load('example.com'))?.version).toBe(v2);
    expect(await s.listDomains()).toContain('example.com');
  });

  it('bounds the check-then-put race: a writer overtaken after its check cannot land its write', async () => {
    const s = store();
    const v1 = await s.save(emptyDomainState('window.example'), undefined);
    // Writer A passed the version check at v1 ... then B saves from v1 first ...
    await s.save(await stateWithKey('window.example', 'b-1', 'staged'), v1);
    // ... and A's PUT (successor of v1) now lands: refused, B's state stays.
    const target = { client: sm, name: 'byodkim/window.example', region: REGION, about: {} };
    expect(await writeSecretSuccessor(target, v1, '{"other":"content"}')).toEqual({
      ok: false,
      reason: 'taken',
    });
    expect((await s.load('window.example'))?.value.keys[0]?.selector).toBe('b-1');
  });

  it('retrying the very same write is idempotent (same ClientRequestToken, same content)', async () => {
    const s = store();
    const v1 = await s.save(emptyDomainState('retry.example'), undefined);
    const target = { client: sm, name: 'byodkim/retry.example', region: REGION, about: {} };
    const first = await writeSecretSuccessor(target, v1, '{"domain":"retry.example"}');
    const again = await writeSecretSuccessor(target, v1, '{"domain":"retry.example"}');
    expect(first).toEqual(again);
    expect(first.ok).toBe(true);
  });

  it('reports a corrupt secret clearly and leaves it untouched', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'byodkim/corrupt.example', SecretString: 'not json' }));
    await sm.send(
      new CreateSecretCommand({
        Name: 'byodkim/bad-state.example',
        SecretString: JSON.stringify({
          domain: 'bad-state.example',
          byodkim: { schema: 1, keys: [{ selector: 5 }] },
        }),
      }),
    );
    for (const domain of ['corrupt.example', 'bad-state.example']) {
      const error = await store()
        .load(domain)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptDataError);
      expect((error as Error).message).toContain(`byodkim/${domain}`);
      const before = (await sm.send(new GetSecretValueCommand({ SecretId: `byodkim/${domain}` })))
        .SecretString;
      await expect(store().save(emptyDomainState(domain), undefined)).rejects.toBeInstanceOf(
        CorruptDataError,
      );
      expect((await sm.send(new GetSecretValueCommand({ SecretId: `byodkim/${domain}` }))).SecretString).toBe(
        before,
      );
    }
  });

  it('refuses to mix domains in a single-secret store', async () => {
    const single = store({ secretName: 'single/dkim-config' });
    await single.save(emptyDomainState('one.example'), undefined);
    expect(await single.listDomains()).toEqual(['one.example']);
    await expect(single.load('two.example')).rejects.toBeInstanceOf(InputError);
    await expect(single.save(emptyDomainState('two.example'), undefined)).rejects.toBeInstanceOf(InputError);
  });

  it('lists domains from the secret names of the template, leaving out lease secrets and other secrets', async () => {
    const s = store({ secretName: 'fleet/{domain}/state' });
    for (const d of ['b.example', 'a.example']) await s.save(emptyDomainState(d), undefined);
    const lease = await s.acquireLease('a.example', 'me', 60_000);
    await sm.send(new CreateSecretCommand({ Name: 'fleet/notes', SecretString: '{}' }));
    expect(await s.listDomains()).toEqual(['a.example', 'b.example']);
    await lease.release();
  });

  it('names secret, region and operation on errors', async () => {
    const bad = new SecretsManagerStateStore({
      region: REGION,
      clients: motoClients('http://127.0.0.1:9', { maxAttempts: 1, connectionTimeoutMs: 500 }),
    });
    const error = await bad.load('down.example').catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      'Secrets Manager GetSecretValue for secret byodkim/down.example',
    );
    expect((error as Error).message).toContain(REGION);
    // Nothing listens there: a person must fix the endpoint, so it is not retried as a blip,
    // and the message says which endpoint and where it was set.
    expect((error as { code?: string }).code).toBe('SECRETS_MANAGER_UNREACHABLE');
    expect((error as { retryable?: boolean }).retryable).toBe(false);
    expect((error as Error).message).toContain(
      'endpoint http://127.0.0.1:9 (from aws.endpoints.secretsmanager)',
    );
  });
});
