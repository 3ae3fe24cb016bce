/**
 * Credentials of a member account (config `accounts[]`): STS AssumeRole with the account's
 * external ID, made with the caller's own credentials, cached and renewed before they expire.
 * One instance per account serves every client of that account (SES v2 and v1 in every
 * region, Route 53), so a process assumes each role once per session, not once per client.
 *
 * A role that cannot be assumed (no permission to assume it, a trust policy that does not
 * trust the caller or wants another external ID, no such role) is an {@link AssumeRoleError}
 * naming the account and the role; it fails only the SES calls of that account. A refusal is
 * remembered for a minute, so a fleet of that account's domains does not ask STS once each; a
 * transient failure (throttling, 5xx, a dropped connection) is asked again on the next call.
 *
 * @example
 * const credentials = new AssumedRoleCredentials({
 *   account: { name: 'brand-a', roleArn: 'arn:aws:iam::111111111111:role/byodkim-member' },
 *   externalId: 'byodkim-7c1e4f',
 *   sts: () => clients.client('sts', undefined, (c) => new STSClient(c)),
 * });
 * const member = clients.forAccount(credentials.account, credentials.provider);
 */
import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import { ServiceError } from '../../errors.js';
import type { AwsAccount } from './clients.js';
import { awsErrorName, httpStatusOf, isRetryable, sanitizeText } from './errors.js';

/** Temporary credentials as the SDK's clients take them. */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/**
 * Renew this long before the credentials expire. The SDK's clients ask their provider again
 * once credentials are within 5 minutes of expiry; renewing earlier means a call never leaves
 * with credentials that expire in flight, and the provider is not asked on every call then.
 */
export const REFRESH_BEFORE_EXPIRY_MS = 10 * 60_000;
/** How long a refusal (not a transient failure) is remembered before STS is asked again. */
export const REFUSAL_MEMORY_MS = 60_000;
/** STS's default and the role's default maximum session: one hour. */
export const SESSION_SECONDS = 3_600;

/**
 * A member account's role could not be assumed (code `ASSUME_ROLE_FAILED`, exit 1): the
 * account's domains fail with it, the other accounts' go on. `retryable` when STS was only
 * busy or unreachable for a moment.
 *
 * @example
 * if (error instanceof AssumeRoleError) console.error(error.context.account, error.context.roleArn);
 */
export class AssumeRoleError extends ServiceError {
  constructor(account: AwsAccount, cause: unknown) {
    const name = awsErrorName(cause);
    const status = httpStatusOf(cause);
    const message = sanitizeText(cause instanceof Error ? cause.message : String(cause));
    super(
      'ASSUME_ROLE_FAILED',
      `account "${account.name}": cannot assume ${account.roleArn}: ${name}: ${message}${status === undefined ? '' : ` (HTTP ${status})`}; ` +
        "the caller needs sts:AssumeRole on the role, and the role's trust policy must trust the caller with this external ID (docs/deploy.md, several AWS accounts)",
      {
        context: { account: account.name, roleArn: account.roleArn, awsError: name, httpStatus: status },
        retryable: isRetryable(cause),
      },
    );
  }
}

export interface AssumedRoleCredentialsOptions {
  account: AwsAccount;
  externalId: string;
  /** The STS client, made with the caller's own credentials (asked for on first use). */
  sts: () => Pick<STSClient, 'send'>;
  /** Wall-clock milliseconds (credential expiry is real time, whatever `--now` says). */
  now?: () => number;
  /** `RoleSessionName`, seen in the member account's CloudTrail. Default `byodkim-<name>`. */
  sessionName?: string;
  durationSeconds?: number;
}

export class AssumedRoleCredentials {
  readonly account: AwsAccount;
  readonly #options: AssumedRoleCredentialsOptions;
  readonly #now: () => number;
  #current: TemporaryCredentials | undefined;
  #inFlight: Promise<TemporaryCredentials> | undefined;
  #refused: { error: AssumeRoleError; until: number } | undefined;
  /** AssumeRole calls made (tests and logs: caching is observable). */
  calls = 0;

  constructor(options: AssumedRoleCredentialsOptions) {
    this.account = options.account;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The provider to hand to SDK clients (`credentials`). */
  readonly provider = (): Promise<TemporaryCredentials> => this.get();

  /** Cached credentials while they have more than {@link REFRESH_BEFORE_EXPIRY_MS} left; else a new AssumeRole. */
  get(): Promise<TemporaryCredentials> {
    const now = this.#now();
    const current = this.#current;
    if (current && current.expiration.getTime() - now > REFRESH_BEFORE_EXPIRY_MS)
      return Promise.resolve(current);
    if (this.#refused && now < this.#refused.until) return Promise.reject(this.#refused.error);
    if (this.#inFlight) return this.#inFlight;
    const assuming = this.#assume().finally(() => {
      this.#inFlight = undefined;
    });
    this.#inFlight = assuming;
    return assuming;
  }

  async #assume(): Promise<TemporaryCredentials> {
    const o = this.#options;
    this.calls++;
    let output: AssumeRoleCommandOutput;
    try {
      output = await o.sts().send(
        new AssumeRoleCommand({
          RoleArn: o.account.roleArn,
          RoleSessionName: (o.sessionName ?? `byodkim-${o.account.name}`).slice(0, 64),
          ExternalId: o.externalId,
          DurationSeconds: o.durationSeconds ?? SESSION_SECONDS,
        }),
      );
    } catch (error) {
      const failure = new AssumeRoleError(o.account, error);
      if (!failure.retryable) this.#refused = { error: failure, until: this.#now() + REFUSAL_MEMORY_MS };
      throw failure;
    }
    const c = output.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new AssumeRoleError(o.account, new Error('STS answered without complete credentials'));
    }
    this.#refused = undefined;
    this.#current = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    return this.#current;
  }
}
