/**
 * Everything the function builds once per execution environment and reuses while warm:
 * the parsed config, the AWS client factory (so SDK clients and their connections are
 * reused), the stores, SES, DNS publishers and notifiers. Built on the first invocation,
 * not at import, so an import never fails and a bad config is reported as that
 * invocation's error (and retried on the next, after the config is fixed).
 */
import { Writable } from 'node:stream';
import { buildAwsClients } from '../config/compose.js';
import { buildNotifier, buildProbe } from '../config/dns.js';
import { buildEngineDeps } from '../config/engine.js';
import { type LoadedConfig, parseConfig } from '../config/load.js';
import { remoteNotifiers } from '../config/notifiers.js';
import type { Actor } from '../domain/state.js';
import type { EngineDeps } from '../engine/reconcile.js';
import { ByodkimError, InputError } from '../errors.js';
import type { Clock, DnsProbe } from '../ports.js';
import { type ConfigReaders, defaultReaders, type Env, readConfigText } from './config-source.js';
import type { JsonLogger } from './log.js';

export interface LambdaRuntime {
  loaded: LoadedConfig;
  /** `output` and `owner` are replaced per invocation. */
  deps: EngineDeps;
  /** Where the config came from (logged). */
  source: string;
  /** A fresh probe per invocation: its nameserver cache must not outlive one pass. */
  newProbe?: () => DnsProbe;
  /** Routes the stdout notifier's messages into the current invocation's log. */
  notifications?: NotificationLog;
}

export interface InitOptions {
  env?: Env;
  readers?: ConfigReaders;
  clock?: Clock;
}

/** Relative paths in the config (e.g. a manual hand-off's `outDir`) resolve under /tmp, the only writable place. */
export const CONFIG_PATH = '/tmp/byodkim.config.yaml';

const NO_OUTPUT = { event: () => undefined };

/**
 * Reads and checks the config, then builds the engine's adapters.
 *
 * @throws {@link InputError} for a missing or invalid config, or one that would keep keys
 *   or state on the function's local disk.
 */
export async function initRuntime(options: InitOptions = {}): Promise<LambdaRuntime> {
  const env = options.env ?? process.env;
  const { text, source } = await readConfigText(env, options.readers ?? defaultReaders(env));
  const loaded = parseNamed(text, source);
  refuseLocalDisk(loaded, source);
  const clock = options.clock ?? { now: () => new Date() };
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME;
  const actor: Actor =
    functionName === undefined ? { kind: 'lambda' } : { kind: 'lambda', user: functionName };
  const awsClients = await buildAwsClients(loaded);
  const notifications = new NotificationLog();
  const notifier = buildNotifier(loaded.config, {
    clock,
    stdout: notifications,
    others: remoteNotifiers(awsClients, env),
  });
  const deps = await buildEngineDeps(loaded, {
    clock,
    actor,
    output: NO_OUTPUT,
    notifier,
    awsClients,
    publisher: { env },
  });
  return { loaded, deps, source, newProbe: () => buildProbe(loaded.config), notifications };
}

/** parseConfig, with errors naming the source (env var, S3 object, parameter) instead of the stand-in path. */
function parseNamed(text: string, source: string): LoadedConfig {
  try {
    return parseConfig(text, CONFIG_PATH);
  } catch (error) {
    if (error instanceof ByodkimError) {
      throw new InputError(error.code, error.message.replaceAll(CONFIG_PATH, source), {
        context: { ...error.context, path: source },
      });
    }
    throw error;
  }
}

/** Invariant 5: in the AWS deployment a private key never touches local disk. */
function refuseLocalDisk(loaded: LoadedConfig, source: string): void {
  if (loaded.config.keys.type === 'file') {
    throw new InputError(
      'LAMBDA_LOCAL_KEYS',
      `${source}: keys.type "file" would keep private keys on the function's local disk; use keys.type "s3" (SSE-KMS)`,
      { context: { path: source, field: 'keys.type', value: 'file' } },
    );
  }
  if (loaded.config.state.type === 'file') {
    throw new InputError(
      'LAMBDA_LOCAL_STATE',
      `${source}: state.type "file" would keep state on the function's temporary disk, lost between runs; use "dynamodb" or "secrets-manager"`,
      { context: { path: source, field: 'state.type', value: 'file' } },
    );
  }
}

/**
 * A stream for the stdout notifier that turns each message into a log line of the
 * invocation in progress (`event: "notification"`), so stdout stays one JSON object per line.
 */
export class NotificationLog extends Writable {
  logger: JsonLogger | undefined;

  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    const text = chunk.toString().trimEnd();
    const first = text.split('\n')[0] ?? '';
    if (this.logger) this.logger.info(first, { event: 'notification', text });
    else
      process.stdout.write(
        `${JSON.stringify({ level: 'info', message: first, event: 'notification', text })}\n`,
      );
    callback();
  }
}
