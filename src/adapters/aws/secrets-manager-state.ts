/**
 * Domain state in AWS Secrets Manager, one secret per domain, in JSON the seed system and
 * its runbook can still read:
 *
 *   {
 *     "domain": "goo.ne.jp",
 *     "selector": "gooid-21-pro-20250917-3",           ← active key (else the newest in flight)
 *     "dns_record": { "name": "gooid-…._domainkey.goo.ne.jp", "type": "TXT", "value": "v=DKIM1; k=rsa; p=…" },
 *     "s3_key_path": "s3://bucket/dkim-keys/goo.ne.jp/gooid-21-pro-20250917-3/private_key.pem",
 *     "created_at": "…", "expires_at": "…", "updated_at": "…",
 *     …any other field the seed system wrote, kept as it was…,
 *     "byodkim": { …the full DomainState… }
 *   }
 *
 * The secret never holds key material (the private key is in the vault; `dns_record.value`
 * is the public key). A secret without a `byodkim` field (the seed's own secret, before
 * adoption) loads as "no state yet"; `readSeedConfig` reads its seed fields, and the first
 * save adds `byodkim` on top of them, conditional on the seed version it read.
 *
 * Concurrency: versions are Secrets Manager VersionIds and saves are compare-and-swap by
 * derived ClientRequestTokens (see secret-cas.ts for how the race is bounded). Leases live in
 * a sibling secret (see secrets-manager-lease.ts).
 *
 * @example
 * const store = new SecretsManagerStateStore({ secretName: 'aws-ses-migration/prod/dkim-config', region: 'ap-northeast-1' });
 * const seed = await store.readSeedConfig('goo.ne.jp'); // { selector, dnsRecord, s3KeyPath, … }
 */
import {
  ListSecretsCommand,
  type ListSecretsCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { buildDkimRecordValue, dkimRecordName } from '../../domain/record.js';
import type { DomainState, KeyEntry } from '../../domain/state.js';
import { parseDomainState } from '../../domain/state-schema.js';
import { ConflictError, CorruptDataError, InputError, ServiceError } from '../../errors.js';
import type { Lease, StateStore, Versioned } from '../../ports.js';
import { AwsClientFactory } from './clients.js';
import { awsCall } from './errors.js';
import { readSecret, SECRET_MAX_BYTES, type SecretTarget, writeSecretSuccessor } from './secret-cas.js';
import { SecretLease } from './secrets-manager-lease.js';

export interface SecretsManagerStateStoreOptions {
  /**
   * Secret name; `{domain}` is replaced by the domain. Without `{domain}` (the seeds'
   * `aws-ses-migration/prod/dkim-config`) the store holds exactly one domain.
   * Default `byodkim/{domain}`.
   */
  secretName?: string;
  /** KMS key for new secrets; the account's `aws/secretsmanager` key when omitted. */
  kmsKeyId?: string;
  region?: string;
  clients?: AwsClientFactory;
  client?: SecretsManagerClient;
  now?: () => Date;
}

/** The seed system's fields, as `readSeedConfig` finds them (all optional: seeds vary). */
export interface SeedConfig {
  secretName: string;
  versionId: string;
  domain?: string;
  /** The seed's current selector. */
  selector?: string;
  dnsRecord?: { name?: string; type?: string; value?: string };
  /** Where the seed kept the private key: `s3://…` or an object key in the seed bucket. */
  s3KeyPath?: string;
  createdAt?: string;
  expiresAt?: string;
  /** Whether byodkim state is already stored alongside (the secret was adopted). */
  hasByodkimState: boolean;
  /** Names of the other top-level fields (their values are not copied out). */
  otherFields: string[];
}

const SERVICE = 'Secrets Manager';
const KNOWN_FIELDS = new Set(['domain', 'selector', 'dns_record', 's3_key_path', 'byodkim', 'updated_at']);
/** Names seen for the same facts; when a seed secret uses one, byodkim keeps it up to date too. */
const EXPIRY_FIELDS = [
  'expires_at',
  'expiry',
  'expiry_date',
  'expiration_date',
  'not_after',
  'certificate_expiry',
];
const CREATED_FIELDS = ['created_at', 'creation_date', 'generated_at'];
for (const f of [...EXPIRY_FIELDS, ...CREATED_FIELDS]) KNOWN_FIELDS.add(f);

type Json = Record<string, unknown>;

export class SecretsManagerStateStore implements StateStore {
  readonly description: string;
  readonly #template: string;
  readonly #kmsKeyId: string | undefined;
  readonly #region: string | undefined;
  readonly #clients: AwsClientFactory;
  readonly #client: SecretsManagerClient | undefined;
  readonly #now: () => Date;

  constructor(options: SecretsManagerStateStoreOptions = {}) {
    this.#template = options.secretName ?? 'byodkim/{domain}';
    if (this.#template.split('{domain}').length > 2) {
      throw new InputError(
        'SECRET_NAME_INVALID',
        `secretName "${this.#template}" names {domain} more than once`,
        {
          context: { secretName: this.#template },
        },
      );
    }
    this.#kmsKeyId = options.kmsKeyId;
    this.#region = options.region;
    this.#clients = options.clients ?? new AwsClientFactory();
    this.#client = options.client;
    this.#now = options.now ?? (() => new Date());
    this.description = `secretsmanager:${this.#template}${this.#region ? ` (${this.#region})` : ''}`;
  }

  get #sm(): SecretsManagerClient {
    return (
      this.#client ?? this.#clients.client('secretsmanager', this.#region, (c) => new SecretsManagerClient(c))
    );
  }

  get #perDomain(): boolean {
    return this.#template.includes('{domain}');
  }

  /** The secret that holds a domain's state. */
  secretNameOf(domain: string): string {
    return this.#template.replace('{domain}', domain);
  }

  #target(domain: string, name = this.secretNameOf(domain)): SecretTarget {
    return { client: this.#sm, name, region: this.#region, about: { domain } };
  }

  async load(domain: string): Promise<Versioned<DomainState> | undefined> {
    const target = this.#target(domain);
    const current = await readSecret(target);
    if (current === undefined) return undefined;
    const json = parseSecretJson(current.text, target.name, domain);
    this.#checkDomain(json, target.name, domain);
    if (json.byodkim === undefined) return undefined;
    return { value: parseState(json.byodkim, target.name, domain), version: current.versionId };
  }

  async save(state: DomainState, expectedVersion: string | undefined): Promise<string> {
    const domain = state.domain;
    const target = this.#target(domain);
    const current = await readSecret(target);
    let existing: Json = {};
    let found: string | undefined;
    if (current !== undefined) {
      existing = parseSecretJson(current.text, target.name, domain);
      this.#checkDomain(existing, target.name, domain);
      if (existing.byodkim !== undefined) {
        parseState(existing.byodkim, target.name, domain); // a corrupt secret is reported, not overwritten
        found = current.versionId;
      }
    }
    const conflict = (foundVersion: string | undefined, why: string): ConflictError =>
      new ConflictError(
        `state of ${domain} in secret ${target.name} changed since it was read (expected version ${expectedVersion ?? 'none'}, found ${foundVersion ?? 'none'})${why}`,
        { context: { domain, secret: target.name, expected: expectedVersion, found: foundVersion } },
      );
    if (found !== expectedVersion) throw conflict(found, '');

    const text = JSON.stringify(withSeedFields(existing, state, this.#now()), null, 2);
    if (Buffer.byteLength(text) > SECRET_MAX_BYTES) {
      throw new ServiceError(
        'SECRETS_MANAGER_TOO_LARGE',
        `state of ${domain} is ${Buffer.byteLength(text)} bytes, over the ${SECRET_MAX_BYTES}-byte limit of a secret`,
        { context: { domain, secret: target.name, bytes: Buffer.byteLength(text) } },
      );
    }
    const kms = this.#kmsKeyId === undefined ? {} : { kmsKeyId: this.#kmsKeyId };
    const result = await writeSecretSuccessor(target, current?.versionId, text, {
      ...kms,
      description: `byodkim state of ${domain} (DKIM selector, DNS record, key location; no key material)`,
    });
    if (!result.ok) throw conflict(undefined, ': another writer saved first');
    return result.versionId;
  }

  async listDomains(): Promise<string[]> {
    if (!this.#perDomain) {
      const name = this.#template;
      const current = await readSecret({ client: this.#sm, name, region: this.#region, about: {} });
      if (current === undefined) return [];
      const json = parseSecretJson(current.text, name, undefined);
      if (json.byodkim === undefined) return [];
      return [parseState(json.byodkim, name, undefined).domain];
    }
    const [prefix = '', suffix = ''] = this.#template.split('{domain}');
    const domains: string[] = [];
    let token: string | undefined;
    do {
      const page: ListSecretsCommandOutput = await awsCall(
        { service: SERVICE, operation: 'ListSecrets', region: this.#region, target: { prefix } },
        () =>
          this.#sm.send(
            new ListSecretsCommand({
              MaxResults: 100,
              ...(prefix === '' ? {} : { Filters: [{ Key: 'name', Values: [prefix] }] }),
              ...(token === undefined ? {} : { NextToken: token }),
            }),
          ),
      );
      for (const secret of page.SecretList ?? []) {
        const name = secret.Name ?? '';
        if (
          !name.startsWith(prefix) ||
          !name.endsWith(suffix) ||
          name.length <= prefix.length + suffix.length
        ) {
          continue;
        }
        const domain = name.slice(prefix.length, name.length - suffix.length);
        if (/^[a-z0-9][a-z0-9.-]*$/.test(domain)) domains.push(domain);
      }
      token = page.NextToken || undefined;
    } while (token !== undefined);
    return [...new Set(domains)].sort();
  }

  /**
   * Leases live in a sibling secret, `<state secret>/lease`, written with the same
   * compare-and-swap as the state, so two actors cannot both take it. Why not a tag: tags
   * have no conditional write, so two actors could both believe they hold the lease. Why not
   * inside the state secret: every renewal would change the state's version under its own
   * holder. The cost: one more secret per domain and a secret version per acquire, renew and
   * release. Secrets Manager keeps at most ~100 versions and prunes only those older than
   * 24 h, so leases suit passes no more frequent than every ~30 minutes per domain; fleets
   * that run more often should keep state (and leases) in DynamoDB.
   */
  async acquireLease(domain: string, owner: string, ttlMs: number): Promise<Lease> {
    const target = this.#target(domain, `${this.secretNameOf(domain)}/lease`);
    const kms = this.#kmsKeyId === undefined ? {} : { kmsKeyId: this.#kmsKeyId };
    return SecretLease.acquire(target, domain, owner, ttlMs, this.#now, kms);
  }

  /**
   * The seed system's fields of a domain's secret (or of `secretName`, e.g. the seeds'
   * `aws-ses-migration/prod/dkim-config`, when the store itself uses another name), for
   * adoption. Undefined if there is no such secret.
   */
  async readSeedConfig(domain: string, secretName?: string): Promise<SeedConfig | undefined> {
    const target = this.#target(domain, secretName ?? this.secretNameOf(domain));
    const current = await readSecret(target);
    if (current === undefined) return undefined;
    return seedConfigOf(parseSecretJson(current.text, target.name, domain), target.name, current.versionId);
  }

  #checkDomain(json: Json, secret: string, domain: string): void {
    const stored =
      typeof json.domain === 'string'
        ? json.domain
        : isObject(json.byodkim) && typeof json.byodkim.domain === 'string'
          ? json.byodkim.domain
          : undefined;
    if (stored !== undefined && stored.toLowerCase().replace(/\.$/, '') !== domain) {
      throw new InputError(
        'SECRET_DOMAIN_MISMATCH',
        `secret ${secret} holds the state of ${stored}, not ${domain}; give each domain its own secret (secretName with {domain})`,
        { context: { secret, domain, stored } },
      );
    }
  }
}

/** Reads the seed fields from a secret's JSON (pure; `readSeedConfig` fetches and calls this). */
export function seedConfigOf(json: Readonly<Json>, secretName: string, versionId: string): SeedConfig {
  const config: SeedConfig = {
    secretName,
    versionId,
    hasByodkimState: json.byodkim !== undefined,
    otherFields: Object.keys(json)
      .filter((k) => !KNOWN_FIELDS.has(k))
      .sort(),
  };
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const domain = text(json.domain);
  if (domain !== undefined) config.domain = domain;
  const selector = text(json.selector);
  if (selector !== undefined) config.selector = selector;
  if (isObject(json.dns_record)) {
    const record: NonNullable<SeedConfig['dnsRecord']> = {};
    const name = text(json.dns_record.name);
    const type = text(json.dns_record.type);
    const value = text(json.dns_record.value);
    if (name !== undefined) record.name = name;
    if (type !== undefined) record.type = type;
    if (value !== undefined) record.value = value;
    config.dnsRecord = record;
  }
  const s3KeyPath = text(json.s3_key_path);
  if (s3KeyPath !== undefined) config.s3KeyPath = s3KeyPath;
  const createdAt = CREATED_FIELDS.map((f) => text(json[f])).find((v) => v !== undefined);
  if (createdAt !== undefined) config.createdAt = createdAt;
  const expiresAt = EXPIRY_FIELDS.map((f) => text(json[f])).find((v) => v !== undefined);
  if (expiresAt !== undefined) config.expiresAt = expiresAt;
  return config;
}

/** The key the seed fields describe: the active one, else the newest still on its way in, else the newest. */
export function seedKeyOf(state: DomainState): KeyEntry | undefined {
  const newest = (keys: KeyEntry[]): KeyEntry | undefined =>
    [...keys].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
  return (
    state.keys.find((k) => k.status === 'active') ??
    newest(
      state.keys.filter((k) => k.status === 'staged' || k.status === 'published' || k.status === 'verified'),
    ) ??
    newest(state.keys)
  );
}

/** The secret's JSON with the seed fields describing `state` and `byodkim: state`; other fields kept. */
export function withSeedFields(existing: Readonly<Json>, state: DomainState, now: Date): Json {
  const out: Json = { ...existing, domain: state.domain };
  const key = seedKeyOf(state);
  if (key !== undefined) {
    out.selector = key.selector;
    const previousRecord = isObject(existing.dns_record) ? existing.dns_record : {};
    out.dns_record = {
      ...previousRecord,
      name: dkimRecordName(key.selector, state.domain),
      type: 'TXT',
      value: buildDkimRecordValue(key.publicKey),
    };
    // Keep the seed's style: a bare object key stays bare.
    const previousPath = typeof existing.s3_key_path === 'string' ? existing.s3_key_path : undefined;
    out.s3_key_path =
      previousPath !== undefined && !previousPath.startsWith('s3://') && key.vaultRef.startsWith('s3://')
        ? key.vaultRef.replace(/^s3:\/\/[^/]+\//, '')
        : key.vaultRef;
    out.created_at = key.createdAt;
    out.expires_at = key.notAfter;
    for (const f of CREATED_FIELDS) if (f in existing) out[f] = key.createdAt;
    for (const f of EXPIRY_FIELDS) if (f in existing) out[f] = key.notAfter;
  }
  out.updated_at = now.toISOString();
  out.byodkim = state;
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseSecretJson(text: string, secret: string, domain: string | undefined): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!isObject(json)) {
    throw new CorruptDataError(`secret ${secret} is not a JSON object; it was left as it is`, {
      context: { secret, domain },
    });
  }
  return json;
}

function parseState(raw: unknown, secret: string, domain: string | undefined): DomainState {
  try {
    return parseDomainState(raw, `secret ${secret}, field byodkim`);
  } catch (cause) {
    throw new CorruptDataError(`secret ${secret} does not hold valid byodkim state; it was left as it is`, {
      context: { secret, domain },
      cause,
    });
  }
}
