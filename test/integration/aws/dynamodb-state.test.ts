import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { DynamoDbStateStore } from '../../../src/adapters/aws/dynamodb-state.js';
import { type DomainState, emptyDomainState } from '../../../src/domain/state.js';
import { ConflictError, CorruptDataError, LockedError, ServiceError } from '../../../src/errors.js';
import { motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'eu-central-1';
const TABLE = 'byodkim-state';

function withHistory(domain: string, message: string): DomainState {
  return {
    ...emptyDomainState(domain),
    history: [{ at: '2026-01-01T00:00:00.000Z', reason: 'test', message, actor: { kind: 'test' } }],
  };
}

describe.skipIf(support.skip)(`DynamoDB state store against moto${support.label}`, () => {
  const moto = useMoto();
  let clients: AwsClientFactory;
  let ddb: DynamoDBClient;

  beforeAll(async () => {
    clients = motoClients(moto.endpoint);
    ddb = clients.client('dynamodb', REGION, (c) => new DynamoDBClient(c));
    await ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });

  const store = (now?: () => Date): DynamoDbStateStore =>
    new DynamoDbStateStore({ table: TABLE, region: REGION, clients, ...(now ? { now } : {}) });

  it('round-trips state with a numeric version, one item per domain', async () => {
    const s = store();
    expect(await s.load('example.com')).toBeUndefined();
    const v1 = await s.save(withHistory('example.com', 'first'), undefined);
    expect(v1).toBe('1');
    expect(await s.load('example.com')).toEqual({ value: withHistory('example.com', 'first'), version: '1' });
    const v2 = await s.save(withHistory('example.com', 'second'), v1);
    expect(v2).toBe('2');
    const item = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'example.com' } } }));
    expect(item.Item?.version?.N).toBe('2');
    expect(JSON.parse(item.Item?.state?.S ?? '{}').history[0].message).toBe('second');
  });

  it('of two writers from one version exactly one wins; the other gets ConflictError', async () => {
    const s = store();
    const v1 = await s.save(emptyDomainState('race.example'), undefined);
    const results = await Promise.allSettled([
      s.save(withHistory('race.example', 'a'), v1),
      s.save(withHistory('race.example', 'b'), v1),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ConflictError);
    expect((rejected.reason as Error).message).toContain('expected version 1, found 2');
    const winner = results[0]?.status === 'fulfilled' ? 'a' : 'b';
    expect((await s.load('race.example'))?.value.history[0]?.message).toBe(winner);
  });

  it('of two creators exactly one wins', async () => {
    const s = store();
    const results = await Promise.allSettled([
      s.save(withHistory('create.example', 'a'), undefined),
      s.save(withHistory('create.example', 'b'), undefined),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(
      ConflictError,
    );
  });

  it('reports a corrupt item clearly and leaves it untouched', async () => {
    const item = { pk: { S: 'corrupt.example' }, version: { N: '3' }, state: { S: '{"schema":1,"keys":5}' } };
    await ddb.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    const error = await store()
      .load('corrupt.example')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptDataError);
    expect((error as Error).message).toContain('corrupt.example');
    const after = await ddb.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'corrupt.example' } } }),
    );
    expect(after.Item).toEqual(item);
  });

  it('lists domains with state (paginated Scan), not lease items', async () => {
    const s = store();
    await s.save(emptyDomainState('list-a.example'), undefined);
    const lease = await s.acquireLease('lease-only.example', 'me', 60_000);
    const domains = await s.listDomains();
    expect(domains).toContain('list-a.example');
    expect(domains).not.toContain('lease-only.example');
    expect(domains.some((d) => d.includes('#'))).toBe(false);
    expect(domains).toEqual([...domains].sort());
    await lease.release();
  });

  it('does not take a live lease; takes over an expired one (injectable clock); release is owner-checked', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const s = store(() => now);
    const a = await s.acquireLease('lease.example', 'a', 60_000);
    expect(a.expiresAt.toISOString()).toBe('2026-01-01T00:01:00.000Z');

    now = new Date('2026-01-01T00:00:59Z');
    const locked = await s.acquireLease('lease.example', 'b', 60_000).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(LockedError);
    expect((locked as Error).message).toBe('lease.example is leased by a until 2026-01-01T00:01:00.000Z');

    await a.renew();
    expect(a.expiresAt.toISOString()).toBe('2026-01-01T00:01:59.000Z');
    now = new Date('2026-01-01T00:01:30Z');
    await expect(s.acquireLease('lease.example', 'b', 60_000)).rejects.toBeInstanceOf(LockedError);

    now = new Date('2026-01-01T00:02:00Z');
    const b = await s.acquireLease('lease.example', 'b', 60_000);
    await a.release(); // expired and taken over: must not free b's lease
    await expect(a.renew()).rejects.toBeInstanceOf(LockedError);
    await expect(s.acquireLease('lease.example', 'c', 60_000)).rejects.toBeInstanceOf(LockedError);
    await b.release();
    const c = await s.acquireLease('lease.example', 'c', 60_000);
    await c.release();
  });

  it('of two actors racing for a free lease exactly one gets it', async () => {
    const s = store();
    const results = await Promise.allSettled([
      s.acquireLease('lease-race.example', 'x', 60_000),
      s.acquireLease('lease-race.example', 'y', 60_000),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(
      LockedError,
    );
  });

  it('names table, domain, region and operation on errors', async () => {
    const error = await new DynamoDbStateStore({ table: 'no-such-table', region: REGION, clients })
      .load('example.com')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as Error).message).toContain(
      'DynamoDB GetItem for table no-such-table, domain example.com',
    );
    expect((error as Error).message).toContain(REGION);
    expect((error as ServiceError).retryable).toBe(false);
  });
});
