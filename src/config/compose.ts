import type { AwsClientFactory } from '../adapters/aws/clients.js';
import type { PacerTimer } from '../adapters/aws/pacing.js';
import { FileStateStore } from '../adapters/local/file-state.js';
import { FileKeyVault } from '../adapters/local/file-vault.js';
import { InputError } from '../errors.js';
import type { Clock, DnsPublisher, KeyVault, SigningService, StateStore } from '../ports.js';
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
  /** The time SES pacing keeps (the sandbox's virtual clock); the wall clock by default. */
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
      const profile = process.env.AWS_PROFILE ?? aws?.profile;
      return new AwsClientFactory({
        ...(profile === undefined ? {} : { profile }),
        ...(aws?.endpoints === undefined ? {} : { endpoints: aws.endpoints }),
        ...(aws?.maxAttempts === undefined ? {} : { maxAttempts: aws.maxAttempts }),
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
  const aws = (): Promise<AwsClientFactory> => Promise.resolve(options.awsClients ?? buildAwsClients(loaded));
  let vault: KeyVault;
  if (keys.type === 'file') {
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
    store = new FileStateStore({ dir: state.dir, now });
  } else if (state.type === 'secrets-manager') {
    const { SecretsManagerStateStore } = await import('../adapters/aws/secrets-manager-state.js');
    store = new SecretsManagerStateStore({
      secretName: state.secretName,
      now,
      clients: await aws(),
      ...(state.kmsKeyId === undefined ? {} : { kmsKeyId: state.kmsKeyId }),
      ...(state.region === undefined ? {} : { region: state.region }),
    });
  } else if (state.type === 'dynamodb') {
    const { DynamoDbStateStore } = await import('../adapters/aws/dynamodb-state.js');
    store = new DynamoDbStateStore({
      table: state.table,
      now,
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
  return new Route53DnsPublisher({
    ttl: dns.ttl,
    clients: options.awsClients ?? (await buildAwsClients(loaded)),
    ...(dns.hostedZoneId === undefined ? {} : { hostedZoneId: dns.hostedZoneId }),
  });
}

/** SES v2 in every region, through the config's AWS client factory. */
export async function buildSigningService(
  loaded: LoadedConfig,
  options: ComposeOptions = {},
): Promise<SigningService> {
  const { SesSigningService } = await import('../adapters/aws/ses.js');
  const rate = loaded.config.aws?.sesRequestsPerSecond;
  return new SesSigningService({
    clients: options.awsClients ?? (await buildAwsClients(loaded)),
    ...(rate === undefined ? {} : { requestsPerSecond: rate }),
    ...(options.sesPacerTimer ? { pacerTimer: options.sesPacerTimer } : {}),
  });
}
