/**
 * SES v1 (`awsQuery`, SPEC.md §1, §2.8): the form-encoded request, the XML answers and errors
 * in the shapes `@aws-sdk/client-ses` parses. Only GetIdentityDkimAttributes is served.
 */
import { randomUUID } from 'node:crypto';
import type { SesApiError } from './errors.js';
import { MAX_V1_IDENTITIES, type V1DkimAttributes } from './service.js';

export const V1_VERSION = '2010-12-01';
const NAMESPACE = `http://ses.amazonaws.com/doc/${V1_VERSION}/`;
export const V1_OPERATIONS = ['GetIdentityDkimAttributes'] as const;
export type V1Operation = (typeof V1_OPERATIONS)[number];

/** An error in v1 terms: the `Code` the SDK reads, the HTTP status and who is at fault. */
export class QueryApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: 'Sender' | 'Receiver';

  constructor(code: string, status: number, message: string, type: 'Sender' | 'Receiver' = 'Sender') {
    super(message);
    this.code = code;
    this.status = status;
    this.type = type;
  }
}

export interface QueryRequest {
  readonly action: V1Operation;
  readonly params: URLSearchParams;
}

/** Reads `Action` and `Version`; an action the emulator does not serve is `InvalidAction`. */
export function parseQueryRequest(body: string): QueryRequest {
  const params = new URLSearchParams(body);
  const action = params.get('Action');
  if (action === null || action === '') {
    throw new QueryApiError('MissingAction', 400, 'The request must contain the parameter Action.');
  }
  if (!(V1_OPERATIONS as readonly string[]).includes(action)) {
    throw new QueryApiError('InvalidAction', 400, `The action ${action} is not valid for this web service.`);
  }
  const version = params.get('Version');
  if (version !== V1_VERSION) {
    throw new QueryApiError(
      'InvalidParameterValue',
      400,
      `Version must be ${V1_VERSION}; got ${version === null ? 'none' : `"${version}"`}.`,
    );
  }
  return { action: action as V1Operation, params };
}

/** `Identities.member.N`, in the order of N: 1 to 100 of them. */
export function identitiesParam(params: URLSearchParams): string[] {
  const members: Array<[number, string]> = [];
  for (const [key, value] of params) {
    const match = /^Identities\.member\.(\d+)$/.exec(key);
    if (match?.[1] !== undefined) members.push([Number(match[1]), value]);
  }
  if (members.length === 0) {
    throw new QueryApiError(
      'ValidationError',
      400,
      params.has('Identities')
        ? "1 validation error detected: Value '[]' at 'identities' failed to satisfy constraint: Member must have length greater than or equal to 1"
        : "1 validation error detected: Value null at 'identities' failed to satisfy constraint: Member must not be null",
    );
  }
  if (members.length > MAX_V1_IDENTITIES) {
    throw new QueryApiError(
      'ValidationError',
      400,
      `1 validation error detected: Value at 'identities' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_V1_IDENTITIES} (got ${members.length})`,
    );
  }
  return members.sort(([a], [b]) => a - b).map(([, value]) => value);
}

export function getIdentityDkimAttributesXml(entries: readonly V1DkimAttributes[]): string {
  const items = entries
    .map((entry) => {
      const tokens =
        entry.tokens === undefined
          ? ''
          : entry.tokens.length === 0
            ? '<DkimTokens/>'
            : `<DkimTokens>${entry.tokens.map((token) => `<member>${escapeXml(token)}</member>`).join('')}</DkimTokens>`;
      return (
        `<entry><key>${escapeXml(entry.identity)}</key><value>` +
        `<DkimEnabled>${entry.dkimEnabled}</DkimEnabled>` +
        `<DkimVerificationStatus>${entry.verificationStatus}</DkimVerificationStatus>` +
        `${tokens}</value></entry>`
      );
    })
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<GetIdentityDkimAttributesResponse xmlns="${NAMESPACE}">` +
    `<GetIdentityDkimAttributesResult><DkimAttributes>${items}</DkimAttributes></GetIdentityDkimAttributesResult>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>` +
    `</GetIdentityDkimAttributesResponse>`
  );
}

export function errorXml(error: QueryApiError): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${error.type}</Type>` +
    `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  );
}

/** The v1 face of an error raised in v2 terms (budget, faults, account lookup, validation). */
export function toQueryError(error: SesApiError): QueryApiError {
  switch (error.errorType) {
    case 'TooManyRequestsException':
      return new QueryApiError('Throttling', 400, error.message);
    case 'ThrottlingException':
      return new QueryApiError('ThrottlingException', 400, error.message);
    case 'InternalServiceErrorException':
      return new QueryApiError('InternalFailure', 500, error.message, 'Receiver');
    default:
      return new QueryApiError('InvalidParameterValue', 400, error.message);
  }
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
