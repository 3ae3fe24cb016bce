import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { DynamoDbStateStore } from '../../../src/adapters/aws/dynamodb-state.js';
import { type DomainState, emptyDomainState } from '../../../src/domain/state.js';
import { CorruptDataError, ServiceError } from '../../../src/errors.js';
import { describeStateStoreContract } from '../../contract/state-store.js';
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

  describeStateStoreContract('DynamoDbStateStore', ({ now }) => store(now));

  it('keeps one item per domain with a numeric version, and the lease in a sibling item', async () => {
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
    const lease = await s.acquireLease('example.com', 'me', 60_000);
    const leaseItem = await ddb.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'example.com#lease' } } }),
    );
    expect(leaseItem.Item?.leaseOwner?.S).toBe('me');
    expect((await s.load('example.com'))?.version).toBe('2');
    await lease.release();
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
