import { stat } from 'node:fs/promises';
import type { AwsClientFactory } from '../adapters/aws/clients.js';
import type { PacerTimer } from '../adapters/aws/pacing.js';
import { FileStateStore } from '../adapters/local/file-state.js';
import { FileKeyVault } from '../adapters/local/file-vault.js';
import { InputError, StorageError } from '../errors.js';
import type { Clock, DnsPublisher, KeyVault, SigningService, StateStore } from '../ports.js';
import { accountClients } from './accounts.js';
import type { LoadedConfig } from './load.js';
import type { DnsProviderConfig } from './schema.js';

/**
 * The composition root: config in, adapters out. Front ends (CLI, Lambda, sandbox) call
 * this and hand the result to the engine; nothing else decides which adapter is used.
 *
 * AWS adapters are loaded with `import()` only when the config asks for them, so a
 * file-only config never loads the AWS SDK.
 */
export interface Stores {
  vault: KeyVault;
  state: StateStore;
}

export interface ComposeOptions {
  /** Share (or inject) the AWS client factory; one per loaded config by default. */
  awsClients?: AwsClientFactory;
  /** The SES budget's time: the wall clock by default; a virtual one where days are simulated (bench). */
  sesPacerTimer?: PacerTimer;
}

const factories = new WeakMap<LoadedConfig, Promise<AwsClientFactory>>();

/**
 * The AWS client factory for a config: `aws.endpoints`, `aws.maxAttempts`, and the profile
 * (`AWS_PROFILE`, which `--profile` sets, wins over `aws.profile`, as with the AWS CLI where
 * the command line beats the file). One per loaded config, so all adapters share clients.
 */
export function buildAwsClients(loaded: LoadedConfig): Promise<AwsClientFactory> {
  let factory = factories.get(loaded);
  if (factory === undefined) {
    factory = import('../adapters/aws/clients.js').then(({ AwsClientFactory }) => {
      const aws = loaded.config.aws;
      const fromEnv = process.env.AWS_PROFILE || undefined;
      const profile = fromEnv ?? aws?.profile;
      return new AwsClientFactory({
        configPath: loaded.path,
        ...(profile === undefined
          ? {}
          : {
              profile,
              profileSource:
                fromEnv === undefined ? `aws.profile in ${loaded.path}` : '--profile or AWS_PROFILE',
            }),
        ...(aws?.endpoints === undefined ? {} : { endpoints: aws.endpoints }),
        ...(aws?.maxAttempts === undefined ? {} : { maxAttempts: aws.maxAttempts }),
        ...(aws?.connectTimeoutMs === undefined ? {} : { connectionTimeoutMs: aws.connectTimeoutMs }),
        ...(aws?.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: aws.requestTimeoutMs }),
      });
    });
    factories.set(loaded, factory);
  }
  return factory;
}

export async function buildStores(
  loaded: LoadedConfig,
  clock: Clock,
  options: ComposeOptions = {},
): Promise<Stores> {
  const { keys, state } = loaded.config;
  const now = (): Date => clock.now();
  // Leases (and the stores' own write times) follow the real clock, whatever `--now` says:
  // a what-if run must not hold a domain until the time it pretends it is.
  const realNow = (): Date => new Date();
  const aws = (): Promise<AwsClientFactory> => Promise.resolve(options.awsClients ?? buildAwsClients(loaded));
  let vault: KeyVault;
  if (keys.type === 'file') {
    await assertDirectoryOrAbsent(keys.dir, 'keys.dir', loaded.path);
    vault = new FileKeyVault({ dir: keys.dir, retired: keys.retired, now });
  } else if (keys.type === 's3') {
    const { S3KeyVault } = await import('../adapters/aws/s3-vault.js');
    vault = new S3KeyVault({
      bucket: keys.bucket,
      prefix: keys.prefix,
      retired: keys.retired,
      now,
      clients: await aws(),
      ...(keys.kmsKeyId === undefined ? {} : { kmsKeyId: keys.kmsKeyId }),
      ...(keys.region === undefined ? {} : { region: keys.region }),
    });
  } else {
    throw new InputError(
      'BACKEND_UNAVAILABLE',
      `keys.type: "${(keys as { type: string }).type}" is not available in this build`,
      { context: { type: (keys as { type: string }).type } },
    );
  }
  let store: StateStore;
  if (state.type === 'file') {
    await assertDirectoryOrAbsent(state.dir, 'state.dir', loaded.path);
    store = new FileStateStore({ dir: state.dir, now: realNow });
  } else if (state.type === 'secrets-manager') {
    const { SecretsManagerStateStore } = await import('../adapters/aws/secrets-manager-state.js');
    store = new SecretsManagerStateStore({
      secretName: state.secretName,
      now: realNow,
      clients: await aws(),
      ...(state.kmsKeyId === undefined ? {} : { kmsKeyId: state.kmsKeyId }),
      ...(state.region === undefined ? {} : { region: state.region }),
    });
  } else if (state.type === 'dynamodb') {
    const { DynamoDbStateStore } = await import('../adapters/aws/dynamodb-state.js');
    store = new DynamoDbStateStore({
      table: state.table,
      now: realNow,
      clients: await aws(),
      ...(state.region === undefined ? {} : { region: state.region }),
    });
  } else {
    throw new InputError(
      'BACKEND_UNAVAILABLE',
      `state.type: "${(state as { type: string }).type}" is not available in this build`,
      { context: { type: (state as { type: string }).type } },
    );
  }
  return { vault, state: store };
}

/** A configured directory that exists as something else is bad config: exit 2, naming the field. */
async function assertDirectoryOrAbsent(dir: string, field: string, configPath: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StorageError('read', dir, error);
  }
  if (!isDirectory) {
    throw new InputError(
      'CONFIG_INVALID',
      `${configPath}: ${field}: "${dir}" exists and is not a directory`,
      {
        context: { path: configPath, field, dir },
      },
    );
  }
}

/** The Route 53 publisher for a domain's `dns` settings (`provider: route53`). */
export async function buildRoute53Publisher(
  loaded: LoadedConfig,
  dns: DnsProviderConfig,
  options: ComposeOptions = {},
): Promise<DnsPublisher> {
  if (dns.provider !== 'route53') {
    throw new InputError('DNS_PROVIDER_MISMATCH', `dns.provider is "${dns.provider}", not "route53"`, {
      context: { provider: dns.provider },
    });
  }
  const { Route53DnsPublisher } = await import('../adapters/aws/route53.js');
  const own = options.awsClients ?? (await buildAwsClients(loaded));
  return new Route53DnsPublisher({
    ttl: dns.ttl,
    // A zone in a member account is changed through that account's role.
    clients: await accountClients(loaded, own, dns.account),
    ...(dns.hostedZoneId === undefined ? {} : { hostedZoneId: dns.hostedZoneId }),
  });
}

/**
 * SES in every region, through the config's AWS client factory, keeping one API budget for
 * the whole process (`aws.sesRequestsPerSecond`, default 1 per account and region). With
 * `accounts`, each member account gets SES of its own (its assumed role, its own budget per
 * region) behind a router that sends each identity's calls to its account.
 */
export async function buildSigningService(
  loaded: LoadedConfig,
  options: ComposeOptions = {},
): Promise<SigningService> {
  const [{ SesSigningService }, { SesBudget }] = await Promise.all([
    import('../adapters/aws/ses.js'),
    import('../adapters/aws/pacing.js'),
  ]);
  const aws = loaded.config.aws;
  const budget = new SesBudget({
    ...(aws?.sesRequestsPerSecond === undefined ? {} : { ratePerSecond: aws.sesRequestsPerSecond }),
    ...(aws?.sesBurst === undefined ? {} : { burst: aws.sesBurst }),
    ...(options.sesPacerTimer ? { timer: options.sesPacerTimer } : {}),
  });
  const batchedHealthReads = aws?.sesBatchedHealthReads ?? true;
  const own = options.awsClients ?? (await buildAwsClients(loaded));
  const ownSes = new SesSigningService({ clients: own, budget, batchedHealthReads });
  const accounts = loaded.config.accounts ?? [];
  if (accounts.length === 0) return ownSes;
  const { AccountSigningRouter } = await import('../adapters/aws/account-router.js');
  const members = new Map<string, SigningService>();
  for (const account of accounts) {
    members.set(
      account.name,
      new SesSigningService({
        clients: await accountClients(loaded, own, account.name),
        budget,
        batchedHealthReads,
        account: account.name,
      }),
    );
  }
  const accountOf = new Map<string, string>();
  for (const d of loaded.domains) if (d.account !== undefined) accountOf.set(d.domain, d.account);
  return new AccountSigningRouter({ own: ownSes, members, accountOf, budget });
}
