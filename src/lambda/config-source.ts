/**
 * Where the function finds its config: the same YAML the CLI reads, from one of
 *
 *   BYODKIM_CONFIG            the YAML text itself
 *   BYODKIM_CONFIG_S3         s3://bucket/key of an object holding it
 *   BYODKIM_CONFIG_PARAMETER  the name (or ARN) of an SSM parameter holding it (what the CDK construct sets)
 *
 * tried in this order; the first one set wins and is named in the logs. Secrets (TSIG,
 * webhook) are never in the config: they come from the environment (`secretEnv`).
 *
 * SSM needs `@aws-sdk/client-ssm`, which this package does not depend on yet. It is loaded
 * at run time with `require`, which on Lambda finds the AWS SDK v3 that the Node.js runtime
 * ships (`/var/runtime/node_modules` is on NODE_PATH); where it cannot be found the error
 * says so and names the other two sources.
 */
import { createRequire } from 'node:module';
import { ByodkimError, describeError, InputError } from '../errors.js';

export const CONFIG_ENV = {
  text: 'BYODKIM_CONFIG',
  s3: 'BYODKIM_CONFIG_S3',
  parameter: 'BYODKIM_CONFIG_PARAMETER',
} as const;

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigText {
  text: string;
  /** Human name of where it came from, for logs and errors: `BYODKIM_CONFIG_PARAMETER /byodkim/config`. */
  source: string;
}

export interface ConfigReaders {
  /** Reads an S3 object as UTF-8 text. */
  s3(bucket: string, key: string): Promise<string>;
  /** Reads an SSM parameter's value (decrypted). */
  ssm(name: string): Promise<string>;
}

/** s3://bucket/key → { bucket, key }. */
export function parseS3Uri(uri: string, field: string = CONFIG_ENV.s3): { bucket: string; key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri.trim());
  if (!match?.[1] || !match[2]) {
    throw new InputError('CONFIG_SOURCE_INVALID', `${field}: "${uri}" is not an S3 URI (s3://bucket/key)`, {
      context: { field, value: uri },
    });
  }
  return { bucket: match[1], key: match[2] };
}

/**
 * The config text from the environment.
 *
 * @throws {@link InputError} when no source is set or the S3 URI is malformed;
 *   {@link ByodkimError} `CONFIG_SOURCE_UNREADABLE` / `CONFIG_SOURCE_UNAVAILABLE` when the
 *   source cannot be read.
 * @example
 * ```ts
 * const { text, source } = await readConfigText(process.env);
 * const loaded = parseConfig(text, '/tmp/byodkim.config.yaml');
 * ```
 */
export async function readConfigText(
  env: Env,
  readers: ConfigReaders = defaultReaders(env),
): Promise<ConfigText> {
  const inline = env[CONFIG_ENV.text];
  if (inline !== undefined && inline.trim() !== '') return { text: inline, source: CONFIG_ENV.text };
  const uri = env[CONFIG_ENV.s3];
  if (uri !== undefined && uri.trim() !== '') {
    const { bucket, key } = parseS3Uri(uri);
    const source = `${CONFIG_ENV.s3} s3://${bucket}/${key}`;
    return { text: await readOrExplain(source, () => readers.s3(bucket, key)), source };
  }
  const parameter = env[CONFIG_ENV.parameter];
  if (parameter !== undefined && parameter.trim() !== '') {
    const source = `${CONFIG_ENV.parameter} ${parameter}`;
    return { text: await readOrExplain(source, () => readers.ssm(parameter.trim())), source };
  }
  throw new InputError(
    'CONFIG_SOURCE_MISSING',
    `no config: set ${CONFIG_ENV.text} (YAML text), ${CONFIG_ENV.s3} (s3://bucket/key) or ${CONFIG_ENV.parameter} (SSM parameter name)`,
    { context: {} },
  );
}

async function readOrExplain(source: string, read: () => Promise<string>): Promise<string> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ByodkimError) throw error;
    throw new ByodkimError('CONFIG_SOURCE_UNREADABLE', `${source}: cannot be read: ${describeError(error)}`, {
      context: { source },
      cause: error,
    });
  }
}

/** The readers over the AWS SDK; each SDK client is loaded only when its source is used. */
export function defaultReaders(env: Env): ConfigReaders {
  return {
    async s3(bucket, key) {
      const [{ S3Client, GetObjectCommand }, { AwsClientFactory }] = await Promise.all([
        import('@aws-sdk/client-s3'),
        import('../adapters/aws/clients.js'),
      ]);
      const clients = new AwsClientFactory({ env });
      try {
        const s3 = clients.client('s3', env.AWS_REGION, (config) => new S3Client(config));
        const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!response.Body) throw new Error('the object has no body');
        return await response.Body.transformToString('utf8');
      } finally {
        clients.destroy();
      }
    },
    async ssm(name) {
      const sdk = loadSsm();
      const client = new sdk.SSMClient(env.AWS_REGION === undefined ? {} : { region: env.AWS_REGION });
      try {
        const response = await client.send(new sdk.GetParameterCommand({ Name: name, WithDecryption: true }));
        const value = response.Parameter?.Value;
        if (value === undefined) throw new Error('the parameter has no value');
        return value;
      } finally {
        client.destroy();
      }
    },
  };
}

/** The slice of `@aws-sdk/client-ssm` used here (the package is not a dependency: see the module comment). */
interface SsmModule {
  SSMClient: new (config: {
    region?: string;
  }) => { send(command: unknown): Promise<{ Parameter?: { Value?: string } }>; destroy(): void };
  GetParameterCommand: new (input: { Name: string; WithDecryption: boolean }) => unknown;
}

export const SSM_MODULE = '@aws-sdk/client-ssm';

function loadSsm(): SsmModule {
  try {
    return createRequire(import.meta.url)(SSM_MODULE) as SsmModule;
  } catch (error) {
    throw new ByodkimError(
      'CONFIG_SOURCE_UNAVAILABLE',
      `${CONFIG_ENV.parameter} is set, but ${SSM_MODULE} cannot be loaded here (${describeError(error).split('\n')[0]}); ` +
        `install it next to the function, or give the config as ${CONFIG_ENV.text} or ${CONFIG_ENV.s3}`,
      { context: { module: SSM_MODULE } },
    );
  }
}
