/**
 * One place that decides how byodkim talks to AWS: region per call, credentials from the
 * SDK's default chain (optionally a named profile), endpoint overrides for emulators,
 * retries with backoff and jitter, and connection/request timeouts. Adapters ask this
 * factory for a client, or take one injected (Powertools style), never build their own.
 *
 * This module imports no SDK client at run time (only types), so a config that uses only
 * S3 loads only `@aws-sdk/client-s3`: each adapter passes the constructor it needs.
 *
 * What the SDK already does, and is therefore not re-implemented here:
 * - `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE_ID>` (e.g. `AWS_ENDPOINT_URL_S3`,
 *   `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_ROUTE_53`) and `endpoint_url` in
 *   the shared config file are honoured by every v3 client when no explicit `endpoint` is
 *   given. The factory only reads them to know that S3 needs path-style addressing.
 * - The retry strategies classify HTTP 429, `ThrottlingException`,
 *   `TooManyRequestsException` (and the other throttling codes) as throttling, 5xx and
 *   connection resets as transient, and back off exponentially with full jitter (throttling
 *   with a larger base delay), within a client-wide retry quota. SES's one request per second
 *   is kept by byodkim's own budget (pacing.ts), which every attempt waits on, so SES clients
 *   use `standard` retries too: the SDK's `adaptive` limiter would slow them a second time.
 *
 * @example
 * const clients = new AwsClientFactory({ profile: 'prod', endpoints: { s3: 'http://127.0.0.1:5000' } });
 * const s3 = clients.client('s3', 'ap-northeast-1', (config) => new S3Client(config));
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { type AwsSetup, rememberSetup } from './errors.js';

/** The services byodkim uses, by the keys of the config's `aws.endpoints`. */
export type AwsServiceName =
  | 'sesv2'
  | 'ses'
  | 's3'
  | 'secretsmanager'
  | 'dynamodb'
  | 'route53'
  | 'sns'
  | 'kms'
  | 'sts';

/** The environment variables the SDK itself reads for each service (its service id, upper-cased, spaces as `_`). */
export const SDK_ENDPOINT_ENV: Readonly<Record<AwsServiceName, string>> = {
  sesv2: 'AWS_ENDPOINT_URL_SESV2',
  ses: 'AWS_ENDPOINT_URL_SES',
  s3: 'AWS_ENDPOINT_URL_S3',
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  route53: 'AWS_ENDPOINT_URL_ROUTE_53',
  sns: 'AWS_ENDPOINT_URL_SNS',
  kms: 'AWS_ENDPOINT_URL_KMS',
  sts: 'AWS_ENDPOINT_URL_STS',
};

export type AwsCredentials = NonNullable<S3ClientConfig['credentials']>;

/** A member account reached through an assumed role (config `accounts[]`), named in errors. */
export interface AwsAccount {
  /** The config's name for it (`accounts[].name`). */
  name: string;
  roleArn: string;
}

export interface AwsClientOptions {
  /** Named profile of the shared config/credentials files; the default chain otherwise. */
  profile?: string;
  /** Where the profile was given (`--profile or AWS_PROFILE`, `aws.profile in <file>`), for errors. */
  profileSource?: string;
  /** The config file the explicit endpoints come from, for errors. */
  configPath?: string;
  /** Explicit endpoints (config `aws.endpoints`); they win over `AWS_ENDPOINT_URL*`. */
  endpoints?: Partial<Record<AwsServiceName, string>>;
  /** Fixed credentials (emulators, tests); the SDK's default provider chain otherwise. */
  credentials?: AwsCredentials;
  /** Attempts per call including the first. Default 5. */
  maxAttempts?: number;
  /** Default `standard` (SES is paced by byodkim's own budget, not the SDK's adaptive limiter). */
  retryMode?: 'standard' | 'adaptive';
  /** Time to establish a connection. Default 5 s (config `aws.connectTimeoutMs`). */
  connectionTimeoutMs?: number;
  /**
   * Time one attempt may take once sent. Default 30 s (config `aws.requestTimeoutMs`). An
   * attempt that runs over fails (and is retried like a dropped connection): the SDK's own
   * default only logs a warning and lets a stalled endpoint hang the run.
   */
  requestTimeoutMs?: number;
  /** Environment to read `AWS_ENDPOINT_URL*` from (tests); `process.env` by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The member account these credentials are for (see {@link AwsClientFactory.forAccount}). */
  account?: AwsAccount;
}

/** The constructor options the factory hands to every SDK client (a subset all v3 clients accept). */
export interface AwsClientConfig {
  region?: string;
  profile?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: AwsCredentials;
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive';
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
}

/** What the factory needs of an SDK client: closing it, and (real clients) its middleware stack. */
interface Destroyable {
  destroy(): void;
  // `never`: any client's typed `add` fits; the one middleware added is generic over its types.
  middlewareStack?: {
    add(middleware: never, options: { step: 'initialize'; priority: 'high'; name: string }): void;
  };
}

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export class AwsClientFactory {
  readonly #options: AwsClientOptions;
  readonly #cache = new Map<string, Destroyable>();
  readonly #members: AwsClientFactory[] = [];

  constructor(options: AwsClientOptions = {}) {
    this.#options = options;
  }

  /** The member account this factory's clients act in; undefined: the caller's own. */
  get account(): AwsAccount | undefined {
    return this.#options.account;
  }

  /**
   * A factory for a member account: the same endpoints, retries and timeouts, with that
   * account's credentials (an assumed role) instead of this factory's. Its clients are
   * closed with this factory's.
   */
  forAccount(account: AwsAccount, credentials: AwsCredentials): AwsClientFactory {
    const { profile: _profile, profileSource: _source, ...shared } = this.#options;
    const member = new AwsClientFactory({ ...shared, credentials, account });
    this.#members.push(member);
    return member;
  }

  /** The endpoint a client of `service` will use, if any is overridden (config first, then the SDK's env vars). */
  endpointOf(service: AwsServiceName): string | undefined {
    const env = this.#options.env ?? process.env;
    if (service === 'ses')
      return this.#options.endpoints?.ses ?? env[SDK_ENDPOINT_ENV.ses] ?? this.endpointOf('sesv2');
    return this.#options.endpoints?.[service] ?? env[SDK_ENDPOINT_ENV[service]] ?? env.AWS_ENDPOINT_URL;
  }

  /**
   * The endpoint set on the client itself: the config's, and for SES v1 whatever SES v2 goes
   * to (SES serves both APIs on one host, so a v2 emulator endpoint must never leave v1 reads
   * going to AWS).
   */
  #explicitEndpoint(service: AwsServiceName): string | undefined {
    const env = this.#options.env ?? process.env;
    if (
      service === 'ses' &&
      this.#options.endpoints?.ses === undefined &&
      env[SDK_ENDPOINT_ENV.ses] === undefined
    )
      return this.endpointOf('sesv2');
    return this.#options.endpoints?.[service];
  }

  /**
   * Client options for one service in one region. `region` undefined leaves it to the SDK
   * (`AWS_REGION`, the profile's region). The endpoint is set explicitly only when the
   * config names one; an env-var endpoint is left for the SDK to apply itself.
   */
  config(service: AwsServiceName, region: string | undefined): AwsClientConfig {
    const o = this.#options;
    const explicitEndpoint = this.#explicitEndpoint(service);
    const config: AwsClientConfig = {
      maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      retryMode: o.retryMode ?? 'standard',
      requestHandler: {
        connectionTimeout: o.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
        requestTimeout: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
    };
    if (region !== undefined) config.region = region;
    if (o.profile !== undefined) config.profile = o.profile;
    if (o.credentials !== undefined) config.credentials = o.credentials;
    if (explicitEndpoint !== undefined) config.endpoint = explicitEndpoint;
    // Emulators and S3-compatible stores serve buckets by path, not by virtual host.
    if (service === 's3' && this.endpointOf('s3') !== undefined) config.forcePathStyle = true;
    return config;
  }

  /**
   * Where a client of `service` gets its endpoint and credentials from, so an error can
   * name what a person has to fix: the `AWS_ENDPOINT_URL_SESV2` they set, the profile they
   * asked for.
   */
  setupOf(service: AwsServiceName): AwsSetup {
    const o = this.#options;
    const env = o.env ?? process.env;
    const setup: AwsSetup = {};
    const configured = o.endpoints?.[service];
    const fromEnv = env[SDK_ENDPOINT_ENV[service]];
    if (configured !== undefined) {
      setup.endpoint = configured;
      setup.endpointSource = `aws.endpoints.${service}${o.configPath ? ` in ${o.configPath}` : ''}`;
    } else if (fromEnv !== undefined) {
      setup.endpoint = fromEnv;
      setup.endpointSource = SDK_ENDPOINT_ENV[service];
    } else if (env.AWS_ENDPOINT_URL !== undefined) {
      setup.endpoint = env.AWS_ENDPOINT_URL;
      setup.endpointSource = 'AWS_ENDPOINT_URL';
    }
    if (o.account !== undefined) {
      setup.account = o.account.name;
      setup.roleArn = o.account.roleArn;
    }
    if (o.credentials === undefined) {
      if (o.profile !== undefined) {
        setup.profile = o.profile;
        if (o.profileSource !== undefined) setup.profileSource = o.profileSource;
      } else if (env.AWS_PROFILE) {
        setup.profile = env.AWS_PROFILE;
        setup.profileSource = 'AWS_PROFILE';
      }
    }
    return setup;
  }

  /** The cached client for `service` in `region`, created on first use with `create(config)`. */
  client<T extends Destroyable>(
    service: AwsServiceName,
    region: string | undefined,
    create: (config: AwsClientConfig) => T,
  ): T {
    const key = `${service}\u0000${region ?? ''}`;
    let client = this.#cache.get(key);
    if (client === undefined) {
      client = create(this.config(service, region));
      const setup = this.setupOf(service);
      // Outermost middleware: every failure of this client, credentials and connections
      // included, carries where its endpoint and credentials came from.
      const nameTheSetup =
        (next: (args: unknown) => Promise<unknown>) =>
        async (args: unknown): Promise<unknown> => {
          try {
            return await next(args);
          } catch (error) {
            rememberSetup(error, setup);
            throw error;
          }
        };
      client.middlewareStack?.add(nameTheSetup as never, {
        step: 'initialize',
        priority: 'high',
        name: 'byodkimNameTheSetup',
      });
      this.#cache.set(key, client);
    }
    return client as T;
  }

  /** Closes every cached client's sockets (end of a CLI run, tests). */
  destroy(): void {
    for (const client of this.#cache.values()) client.destroy();
    this.#cache.clear();
    for (const member of this.#members) member.destroy();
  }
}
