/**
 * AWS SDK errors turned into the project's ServiceError: the service, operation, region
 * and target named in the message and in `context`, `retryable` set for throttling and
 * server-side failures, and nothing of the request echoed. SDK errors can carry the raw
 * response and some services repeat input values in their messages, so the original error
 * is not kept as `cause`: a sanitized copy (name and scrubbed message) is.
 */
import { ByodkimError, type ErrorContext, ServiceError } from '../../errors.js';

export interface AwsCall {
  /** Human label: `SES`, `S3`, `Secrets Manager`, `DynamoDB`, `Route 53`. */
  service: string;
  operation: string;
  region: string | undefined;
  /** What the call was about, e.g. `{ identity: 'example.com' }` or `{ bucket, key }`. */
  target: Readonly<Record<string, string>>;
}

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean } | undefined;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
  'PriorRequestNotComplete',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/**
 * Nothing listens there, the name does not exist, or it is not who it claims to be: an
 * endpoint that will not start working by itself (a mistyped AWS_ENDPOINT_URL_*, a stopped
 * emulator, a proxy). The SDK has retried already; a person has to fix it.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);
const CREDENTIAL_NAMES = new Set(['CredentialsProviderError', 'TokenProviderError']);
const ACCESS_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'KMS.AccessDeniedException',
]);

/** Where a client's endpoint and credentials came from (AwsClientFactory.setupOf). */
export interface AwsSetup {
  endpoint?: string;
  /** `aws.endpoints.sesv2 in <file>`, `AWS_ENDPOINT_URL_SESV2`, `AWS_ENDPOINT_URL`. */
  endpointSource?: string;
  profile?: string;
  profileSource?: string;
  /** A member account's name (config `accounts[].name`) and the role assumed there. */
  account?: string;
  roleArn?: string;
}

const setups = new WeakMap<object, AwsSetup>();

/** Attaches a client's setup to an error it threw (the factory's outermost middleware). */
export function rememberSetup(error: unknown, setup: AwsSetup): void {
  if (typeof error === 'object' && error !== null && !setups.has(error)) setups.set(error, setup);
}

function errnoCode(error: unknown): string {
  const code = (error as SdkErrorShape | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** The endpoint cannot be reached at all (refused, no such host, bad certificate). */
export function isUnreachable(error: unknown): boolean {
  return UNREACHABLE_CODES.has(errnoCode(error));
}

/** The SDK found no usable credentials (or the named profile does not exist). */
export function isCredentialsError(error: unknown): boolean {
  return CREDENTIAL_NAMES.has(awsErrorName(error));
}

/** The error's name as the SDK reports it (`NoSuchKey`, `ConditionalCheckFailedException`, ...). */
export function awsErrorName(error: unknown): string {
  const e = error as SdkErrorShape | undefined;
  return typeof e?.name === 'string' ? e.name : 'Error';
}

export function httpStatusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function isThrottling(error: unknown): boolean {
  const e = error as SdkErrorShape | undefined;
  return (
    httpStatusOf(error) === 429 ||
    THROTTLING_NAMES.has(awsErrorName(error)) ||
    e?.$retryable?.throttling === true
  );
}

export function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error) ?? 0;
  const e = error as SdkErrorShape | undefined;
  return (
    isThrottling(error) ||
    status >= 500 ||
    e?.$retryable !== undefined ||
    NETWORK_CODES.has(errnoCode(error)) ||
    ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'].includes(awsErrorName(error))
  );
}

/**
 * Removes anything that could be key material from text meant for errors and logs: PEM
 * blocks and any run of 40+ base64 characters (a 1024-bit key is ~850 of them; request
 * ids, ARNs and names are shorter or contain other characters).
 */
export function sanitizeText(text: string, maxLength = 500): string {
  const scrubbed = text
    .replace(/-----BEGIN [^-]*-----[\s\S]*?(-----END [^-]*-----|$)/g, '[redacted PEM]')
    .replace(/[A-Za-z0-9+/]{40,}={0,2}/g, '[redacted]');
  return scrubbed.length > maxLength ? `${scrubbed.slice(0, maxLength - 1)}…` : scrubbed;
}

function category(
  error: unknown,
): 'THROTTLED' | 'UNAVAILABLE' | 'UNREACHABLE' | 'ACCESS_DENIED' | 'NOT_FOUND' | 'REJECTED' {
  if (isThrottling(error)) return 'THROTTLED';
  const status = httpStatusOf(error);
  if (isUnreachable(error)) return 'UNREACHABLE';
  if (isRetryable(error)) return 'UNAVAILABLE';
  if (isCredentialsError(error)) return 'ACCESS_DENIED';
  if (ACCESS_NAMES.has(awsErrorName(error)) || status === 403) return 'ACCESS_DENIED';
  if (status === 404) return 'NOT_FOUND';
  return 'REJECTED';
}

const CODE_PREFIX: Readonly<Record<string, string>> = {
  SES: 'SES',
  S3: 'S3',
  'Secrets Manager': 'SECRETS_MANAGER',
  DynamoDB: 'DYNAMODB',
  'Route 53': 'ROUTE53',
  STS: 'STS',
};

/**
 * A ServiceError for a failed AWS call. The message reads like
 * `SES PutEmailIdentityDkimSigningAttributes for identity example.com in eu-west-1 failed:
 * TooManyRequestsException: Rate exceeded (HTTP 429, 5 attempts)`.
 */
export function toServiceError(error: unknown, call: AwsCall): ServiceError {
  const e = error as SdkErrorShape | undefined;
  const name = awsErrorName(error);
  const status = httpStatusOf(error);
  const attempts = e?.$metadata?.attempts;
  const rawMessage = typeof e?.message === 'string' ? e.message : String(error);
  const message = sanitizeText(rawMessage);
  const target = Object.entries(call.target)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const details = [
    status !== undefined ? `HTTP ${status}` : undefined,
    attempts ? `${attempts} attempts` : undefined,
  ]
    .filter((d) => d !== undefined)
    .join(', ');
  const setup = typeof error === 'object' && error !== null ? setups.get(error) : undefined;
  const text =
    `${call.service} ${call.operation} for ${target} in ${call.region ?? 'the default region'} failed: ` +
    `${name === 'Error' && errnoCode(error) ? errnoCode(error) : name}: ${message}${details ? ` (${details})` : ''}` +
    setupHint(error, setup);
  const context: ErrorContext = {
    service: call.service,
    operation: call.operation,
    region: call.region,
    ...call.target,
    awsError: name,
    httpStatus: status,
    endpoint: setup?.endpoint,
    endpointSource: setup?.endpointSource,
    profile: setup?.profile,
    account: setup?.account,
    requestId: e?.$metadata?.requestId,
    attempts,
  };
  const cause = new Error(message);
  cause.name = name;
  return new ServiceError(`${CODE_PREFIX[call.service] ?? 'AWS'}_${category(error)}`, text, {
    context,
    cause,
    retryable: isRetryable(error),
  });
}

/**
 * What to look at, when the failure is about the set-up rather than the request: the
 * endpoint and where it was configured (unreachable, timed out), or the credentials and
 * the profile asked for.
 */
function setupHint(error: unknown, setup: AwsSetup | undefined): string {
  if (setup?.account !== undefined && ACCESS_NAMES.has(awsErrorName(error))) {
    return `; account "${setup.account}" through role ${setup.roleArn}: check that the role allows this (docs/deploy.md, ByodkimMemberRole)`;
  }
  if (isCredentialsError(error) || (ACCESS_NAMES.has(awsErrorName(error)) && setup?.profile)) {
    return setup?.profile
      ? `; AWS profile "${setup.profile}"${setup.profileSource ? ` (from ${setup.profileSource})` : ''}: check that it exists and has credentials`
      : "; no AWS credentials were found in the SDK's default chain (environment, ~/.aws, SSO, instance role): set them, or pass --profile NAME";
  }
  const network =
    isUnreachable(error) || NETWORK_CODES.has(errnoCode(error)) || awsErrorName(error) === 'TimeoutError';
  if (network && setup?.endpoint)
    return `; endpoint ${setup.endpoint} (from ${setup.endpointSource ?? 'the config'})`;
  return '';
}

/** Runs one SDK call and maps any failure with `toServiceError` (handle expected errors inside `run`). */
export async function awsCall<T>(call: AwsCall, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ByodkimError) throw error;
    throw toServiceError(error, call);
  }
}
