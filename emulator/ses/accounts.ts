/**
 * The account a request belongs to, from its credentials (SPEC.md §1): a static map, then
 * STS GetCallerIdentity at a moto endpoint (cached), then the default account. Like moto, the
 * emulator verifies no signature; it only reads the access key id and the session token.
 * When moto enforces IAM authorization it checks signatures, which the emulator cannot make
 * (it never holds a secret): the account is then read from moto's record of the keys it
 * issued (`/moto-api/data.json`).
 */
import { internalError } from './errors.js';

export interface RequestCredentials {
  readonly accessKeyId: string | undefined;
  readonly sessionToken: string | undefined;
}

export interface AccountSources {
  readonly accountsByAccessKey: ReadonlyMap<string, string>;
  readonly stsEndpoint: string | undefined;
  readonly defaultAccount: string;
}

const STS_TIMEOUT_MS = 5_000;
const ACCOUNT_ELEMENT = /<Account>\s*(\d{12})\s*<\/Account>/;

export class AccountResolver {
  readonly #sources: AccountSources;
  #cache = new Map<string, Promise<string>>();

  constructor(sources: AccountSources) {
    this.#sources = sources;
  }

  accountOf(credentials: RequestCredentials): Promise<string> {
    const { accessKeyId, sessionToken } = credentials;
    if (accessKeyId === undefined) return Promise.resolve(this.#sources.defaultAccount);
    const mapped = this.#sources.accountsByAccessKey.get(accessKeyId);
    if (mapped !== undefined) return Promise.resolve(mapped);
    const sts = this.#sources.stsEndpoint;
    if (sts === undefined) return Promise.resolve(this.#sources.defaultAccount);
    const cacheKey = `${accessKeyId}\n${sessionToken ?? ''}`;
    let lookup = this.#cache.get(cacheKey);
    if (lookup === undefined) {
      lookup = callerAccount(sts, accessKeyId, sessionToken);
      this.#cache.set(cacheKey, lookup);
      // A failed lookup is not remembered: the next request asks again.
      lookup.catch(() => this.#cache.delete(cacheKey));
    }
    return lookup;
  }

  clearCache(): void {
    this.#cache = new Map();
  }
}

/**
 * STS GetCallerIdentity as moto serves it: moto reads the access key id from the SigV4
 * credential scope and never checks the signature, so none is computed (the emulator never
 * sees a secret key).
 */
async function callerAccount(
  stsEndpoint: string,
  accessKeyId: string,
  sessionToken: string | undefined,
): Promise<string> {
  const now = new Date();
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    'x-amz-date': amzDate,
    authorization:
      `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/sts/aws4_request, ` +
      `SignedHeaders=content-type;host;x-amz-date, Signature=${'0'.repeat(64)}`,
  };
  if (sessionToken !== undefined) headers['x-amz-security-token'] = sessionToken;
  const where = `STS GetCallerIdentity at ${stsEndpoint}`;
  let response: Response;
  try {
    response = await fetch(new URL('/', stsEndpoint), {
      method: 'POST',
      headers,
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      signal: AbortSignal.timeout(STS_TIMEOUT_MS),
    });
  } catch (error) {
    throw internalError(`could not resolve the account of the request: ${where} failed (${describe(error)})`);
  }
  const text = await response.text();
  if (response.status === 403 && SIGNATURE_REFUSED.test(text)) return issuedAccount(stsEndpoint, accessKeyId);
  const account = ACCOUNT_ELEMENT.exec(text)?.[1];
  if (!response.ok || account === undefined) {
    throw internalError(
      `could not resolve the account of the request: ${where} answered HTTP ${response.status} without an account`,
    );
  }
  return account;
}

/** moto with IAM authorization on: it checks the SigV4 signature the emulator cannot compute. */
const SIGNATURE_REFUSED = /<Code>SignatureDoesNotMatch<\/Code>/;

interface MotoModels {
  sts?: { AssumedRole?: Array<{ access_key_id?: string; account_id?: string }> };
  iam?: {
    AccessKey?: Array<{ access_key_id?: string; user_name?: string }>;
    User?: Array<{ name?: string; account_id?: string }>;
  };
}

/**
 * The account moto issued `accessKeyId` in, from its model data: an assumed role's session
 * (sts AssumedRole), or an IAM user's access key (iam AccessKey → User).
 */
async function issuedAccount(stsEndpoint: string, accessKeyId: string): Promise<string> {
  const where = `moto's model data at ${stsEndpoint}`;
  let models: MotoModels;
  try {
    const response = await fetch(new URL('/moto-api/data.json', stsEndpoint), {
      signal: AbortSignal.timeout(STS_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    models = (await response.json()) as MotoModels;
  } catch (error) {
    throw internalError(`could not resolve the account of the request: ${where} failed (${describe(error)})`);
  }
  const role = models.sts?.AssumedRole?.find((r) => r.access_key_id === accessKeyId);
  if (role?.account_id) return role.account_id;
  const key = models.iam?.AccessKey?.find((k) => k.access_key_id === accessKeyId);
  const user = key && models.iam?.User?.find((u) => u.name === key.user_name);
  if (user?.account_id) return user.account_id;
  throw internalError(
    `could not resolve the account of the request: STS refused the unsigned lookup and ${where} has no access key ${accessKeyId}`,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
