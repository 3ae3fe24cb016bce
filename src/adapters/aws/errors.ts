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
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
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
    NETWORK_CODES.has(typeof e?.code === 'string' ? e.code : '') ||
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

function category(error: unknown): 'THROTTLED' | 'UNAVAILABLE' | 'ACCESS_DENIED' | 'NOT_FOUND' | 'REJECTED' {
  if (isThrottling(error)) return 'THROTTLED';
  const status = httpStatusOf(error);
  if (isRetryable(error)) return 'UNAVAILABLE';
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
  const text =
    `${call.service} ${call.operation} for ${target} in ${call.region ?? 'the default region'} failed: ` +
    `${name}: ${message}${details ? ` (${details})` : ''}`;
  const context: ErrorContext = {
    service: call.service,
    operation: call.operation,
    region: call.region,
    ...call.target,
    awsError: name,
    httpStatus: status,
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

/** Runs one SDK call and maps any failure with `toServiceError` (handle expected errors inside `run`). */
export async function awsCall<T>(call: AwsCall, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ByodkimError) throw error;
    throw toServiceError(error, call);
  }
}
