/**
 * Domain state in DynamoDB, for fleets. One table with a string partition key `pk`:
 *
 *   pk = "<domain>"         version (N), state (S: the DomainState as JSON), updatedAt (S)
 *   pk = "<domain>#lease"   leaseOwner (S), leaseToken (S), leaseExpiresAt (N, epoch ms)
 *
 * Saves are conditional writes: `attribute_not_exists(pk)` for the first, `version =
 * :expected` after that, so of two writers from one version exactly one succeeds and the
 * other gets ConflictError. The lease is a sibling item rather than attributes of the state
 * item because DynamoDB bills a write by the size of the whole item: renewing a lease on a
 * 40 KB state item would cost 40 write units instead of 1. (Domain names cannot contain
 * `#`, so the two kinds of item never collide.)
 *
 * @example
 * const store = new DynamoDbStateStore({ table: 'byodkim-state', region: 'eu-west-1' });
 * const lease = await store.acquireLease('example.com', `lambda:${requestId}`, 60_000);
 */
import { randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type ScanCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { latestHoldingExpiry } from '../../domain/lease.js';
import type { DomainState } from '../../domain/state.js';
import { parseDomainState } from '../../domain/state-schema.js';
import { ConflictError, CorruptDataError, LockedError } from '../../errors.js';
import type { Lease, StateStore, Versioned } from '../../ports.js';
import { AwsClientFactory } from './clients.js';
import { awsCall, awsErrorName } from './errors.js';

export interface DynamoDbStateStoreOptions {
  table: string;
  region?: string;
  clients?: AwsClientFactory;
  client?: DynamoDBClient;
  /** Clock for lease expiry (injectable for tests and `--now`); the real clock by default. */
  now?: () => Date;
}

const SERVICE = 'DynamoDB';
const LEASE_SUFFIX = '#lease';

type Item = Record<string, AttributeValue>;

interface ConditionFailure {
  Item?: Item;
}

export class DynamoDbStateStore implements StateStore {
  readonly description: string;
  readonly table: string;
  readonly #region: string | undefined;
  readonly #clients: AwsClientFactory;
  readonly #client: DynamoDBClient | undefined;
  readonly #now: () => Date;

  constructor(options: DynamoDbStateStoreOptions) {
    this.table = options.table;
    this.#region = options.region;
    this.#clients = options.clients ?? new AwsClientFactory();
    this.#client = options.client;
    this.#now = options.now ?? (() => new Date());
    this.description = `dynamodb:${this.table}${this.#region ? ` (${this.#region})` : ''}`;
  }

  get #ddb(): DynamoDBClient {
    return this.#client ?? this.#clients.client('dynamodb', this.#region, (c) => new DynamoDBClient(c));
  }

  #call(operation: string, domain: string) {
    return { service: SERVICE, operation, region: this.#region, target: { table: this.table, domain } };
  }

  async load(domain: string): Promise<Versioned<DomainState> | undefined> {
    const out = await awsCall(this.#call('GetItem', domain), () =>
      this.#ddb.send(
        new GetItemCommand({ TableName: this.table, Key: { pk: { S: domain } }, ConsistentRead: true }),
      ),
    );
    if (out.Item === undefined) return undefined;
    const version = out.Item.version?.N;
    const where = `DynamoDB table ${this.table}, item ${domain}`;
    try {
      if (version === undefined || !/^\d+$/.test(version)) throw new Error('no numeric "version"');
      const text = out.Item.state?.S;
      if (text === undefined) throw new Error('no string "state"');
      return { value: parseDomainState(JSON.parse(text), where), version };
    } catch (cause) {
      throw new CorruptDataError(`${where} is not valid byodkim state; it was left as it is`, {
        context: { domain, table: this.table },
        cause,
      });
    }
  }

  async save(state: DomainState, expectedVersion: string | undefined): Promise<string> {
    const domain = state.domain;
    const next = expectedVersion === undefined ? 1 : Number(expectedVersion) + 1;
    if (!Number.isSafeInteger(next)) {
      throw new ConflictError(`state of ${domain}: "${expectedVersion}" is not a version of this store`, {
        context: { domain, expected: expectedVersion },
      });
    }
    const item: Item = {
      pk: { S: domain },
      version: { N: String(next) },
      state: { S: JSON.stringify(state) },
      updatedAt: { S: this.#now().toISOString() },
    };
    await awsCall(this.#call('PutItem', domain), async () => {
      try {
        await this.#ddb.send(
          new PutItemCommand({
            TableName: this.table,
            Item: item,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ...(expectedVersion === undefined
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: 'version = :expected',
                  ExpressionAttributeValues: { ':expected': { N: expectedVersion } },
                }),
          }),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        const found = (error as ConditionFailure).Item?.version?.N;
        throw new ConflictError(
          `state of ${domain} changed since it was read (expected version ${expectedVersion ?? 'none'}, found ${found ?? 'none'})`,
          { context: { domain, table: this.table, expected: expectedVersion, found } },
        );
      }
    });
    return String(next);
  }

  /**
   * Every domain with state: a paginated Scan of the table (keys only). Fine for thousands
   * of domains once per pass; a much larger fleet would want a sharded index instead.
   */
  async listDomains(): Promise<string[]> {
    const domains: string[] = [];
    let start: Item | undefined;
    do {
      const page: ScanCommandOutput = await awsCall(this.#call('Scan', '*'), () =>
        this.#ddb.send(
          new ScanCommand({
            TableName: this.table,
            ProjectionExpression: 'pk',
            FilterExpression: 'attribute_exists(version)',
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const pk = item.pk?.S;
        if (pk !== undefined && !pk.endsWith(LEASE_SUFFIX)) domains.push(pk);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return domains.sort();
  }

  /**
   * Takes the lease if there is none, it has expired (by this store's clock), or `owner`
   * holds it already. Owners must be unique per running actor (e.g. include a run id):
   * the same owner name re-takes its own lease.
   */
  async acquireLease(domain: string, owner: string, ttlMs: number): Promise<Lease> {
    const now = this.#now();
    const token = randomBytes(8).toString('hex');
    const expiresAt = new Date(now.getTime() + ttlMs);
    await awsCall(this.#call('UpdateItem', domain), async () => {
      try {
        await this.#ddb.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: { S: `${domain}${LEASE_SUFFIX}` } },
            UpdateExpression:
              'SET leaseOwner = :me, leaseToken = :token, leaseExpiresAt = :expires, acquiredAt = :nowIso',
            // Expired, or claiming more than any lease can from now (written with `--now`
            // far ahead or by a host whose clock runs ahead): either way it holds nothing.
            ConditionExpression:
              'attribute_not_exists(pk) OR leaseExpiresAt < :now OR leaseExpiresAt > :latest OR leaseOwner = :me',
            ExpressionAttributeValues: {
              ':me': { S: owner },
              ':token': { S: token },
              ':expires': { N: String(expiresAt.getTime()) },
              ':now': { N: String(now.getTime()) },
              ':latest': { N: String(latestHoldingExpiry(now).getTime()) },
              ':nowIso': { S: now.toISOString() },
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        const held = (error as ConditionFailure).Item;
        const holder = held?.leaseOwner?.S ?? 'another actor';
        const until = held?.leaseExpiresAt?.N;
        const untilIso = until === undefined ? undefined : new Date(Number(until)).toISOString();
        throw new LockedError(`${domain} is leased by ${holder}${untilIso ? ` until ${untilIso}` : ''}`, {
          context: { domain, table: this.table, holder, expiresAt: untilIso },
        });
      }
    });
    return new DynamoDbLease(this, domain, owner, token, ttlMs, expiresAt);
  }

  /** @internal Used by the lease it handed out. */
  async renewLease(domain: string, owner: string, token: string, ttlMs: number): Promise<Date> {
    const expiresAt = new Date(this.#now().getTime() + ttlMs);
    await awsCall(this.#call('UpdateItem', domain), async () => {
      try {
        await this.#ddb.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: { S: `${domain}${LEASE_SUFFIX}` } },
            UpdateExpression: 'SET leaseExpiresAt = :expires',
            ConditionExpression: 'leaseToken = :token AND leaseOwner = :me',
            ExpressionAttributeValues: {
              ':expires': { N: String(expiresAt.getTime()) },
              ':token': { S: token },
              ':me': { S: owner },
            },
          }),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        throw new LockedError(`${domain}: the lease is no longer held by ${owner}`, {
          context: { domain, table: this.table, owner },
        });
      }
    });
    return expiresAt;
  }

  /** @internal Deletes the lease item only if this acquisition still holds it. */
  async releaseLease(domain: string, token: string): Promise<void> {
    await awsCall(this.#call('DeleteItem', domain), async () => {
      try {
        await this.#ddb.send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: { pk: { S: `${domain}${LEASE_SUFFIX}` } },
            ConditionExpression: 'leaseToken = :token',
            ExpressionAttributeValues: { ':token': { S: token } },
          }),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        // Not ours any more (expired and taken over): nothing to release.
      }
    });
  }
}

class DynamoDbLease implements Lease {
  readonly #store: DynamoDbStateStore;
  readonly #token: string;
  readonly #ttlMs: number;
  #expiresAt: Date;

  constructor(
    store: DynamoDbStateStore,
    readonly domain: string,
    readonly owner: string,
    token: string,
    ttlMs: number,
    expiresAt: Date,
  ) {
    this.#store = store;
    this.#token = token;
    this.#ttlMs = ttlMs;
    this.#expiresAt = expiresAt;
  }

  get expiresAt(): Date {
    return this.#expiresAt;
  }

  async renew(): Promise<void> {
    this.#expiresAt = await this.#store.renewLease(this.domain, this.owner, this.#token, this.#ttlMs);
  }

  release(): Promise<void> {
    return this.#store.releaseLease(this.domain, this.#token);
  }
}
