/**
 * A lease held in a small secret beside the state secret, taken, renewed and released by
 * compare-and-swap (secret-cas.ts): the holder is whoever wrote the successor of the
 * version it read. The body names the owner, a random token for this acquisition and the
 * expiry; it never holds anything secret.
 */
import { randomBytes } from 'node:crypto';
import { leaseHolds } from '../../domain/lease.js';
import { LockedError } from '../../errors.js';
import type { Lease } from '../../ports.js';
import { readSecret, type SecretTarget, writeSecretSuccessor } from './secret-cas.js';

interface LeaseBody {
  owner: string | null;
  token: string | null;
  expiresAt: string;
  acquiredAt?: string;
}

function parseBody(text: string): LeaseBody | undefined {
  try {
    const raw = JSON.parse(text) as Partial<LeaseBody>;
    if (typeof raw.expiresAt !== 'string') return undefined;
    return {
      owner: typeof raw.owner === 'string' ? raw.owner : null,
      token: typeof raw.token === 'string' ? raw.token : null,
      expiresAt: raw.expiresAt,
    };
  } catch {
    return undefined;
  }
}

export class SecretLease implements Lease {
  readonly domain: string;
  readonly owner: string;
  readonly #target: SecretTarget;
  readonly #token: string;
  readonly #ttlMs: number;
  readonly #now: () => Date;
  readonly #kms: { kmsKeyId?: string };
  #expiresAt: Date;

  private constructor(
    target: SecretTarget,
    domain: string,
    owner: string,
    token: string,
    ttlMs: number,
    now: () => Date,
    kms: { kmsKeyId?: string },
    expiresAt: Date,
  ) {
    this.#target = target;
    this.domain = domain;
    this.owner = owner;
    this.#token = token;
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#kms = kms;
    this.#expiresAt = expiresAt;
  }

  get expiresAt(): Date {
    return this.#expiresAt;
  }

  /**
   * Takes the lease if nobody holds it, it has expired, or `owner` already holds it.
   * An unreadable lease body counts as expired (it guards nothing).
   */
  static async acquire(
    target: SecretTarget,
    domain: string,
    owner: string,
    ttlMs: number,
    now: () => Date,
    kms: { kmsKeyId?: string },
  ): Promise<SecretLease> {
    const current = await readSecret(target);
    const body = current === undefined ? undefined : parseBody(current.text);
    const at = now();
    if (body?.owner && body.owner !== owner && leaseHolds(body.expiresAt, at)) {
      throw new LockedError(
        `${domain} is leased by ${body.owner} until ${body.expiresAt} (secret ${target.name})`,
        {
          context: { domain, lock: target.name, holder: body.owner, expiresAt: body.expiresAt },
        },
      );
    }
    const token = randomBytes(8).toString('hex');
    const expiresAt = new Date(at.getTime() + ttlMs);
    const next: LeaseBody = {
      owner,
      token,
      expiresAt: expiresAt.toISOString(),
      acquiredAt: at.toISOString(),
    };
    const result = await writeSecretSuccessor(target, current?.versionId, JSON.stringify(next), {
      ...kms,
      description: `byodkim lease of ${domain}`,
    });
    if (!result.ok) {
      throw new LockedError(
        `${domain}: another actor took the lease at the same moment (secret ${target.name})`,
        {
          context: { domain, lock: target.name },
        },
      );
    }
    return new SecretLease(target, domain, owner, token, ttlMs, now, kms, expiresAt);
  }

  async renew(): Promise<void> {
    const current = await this.#mine();
    if (current === undefined) {
      throw new LockedError(`${this.domain}: the lease is no longer held by ${this.owner}`, {
        context: { domain: this.domain, lock: this.#target.name, owner: this.owner },
      });
    }
    const at = this.#now();
    const expiresAt = new Date(at.getTime() + this.#ttlMs);
    const body: LeaseBody = { owner: this.owner, token: this.#token, expiresAt: expiresAt.toISOString() };
    const result = await writeSecretSuccessor(this.#target, current, JSON.stringify(body), this.#kms);
    if (!result.ok) {
      throw new LockedError(`${this.domain}: the lease changed hands while being renewed`, {
        context: { domain: this.domain, lock: this.#target.name, owner: this.owner },
      });
    }
    this.#expiresAt = expiresAt;
  }

  /** Gives the lease up if this acquisition still holds it; otherwise does nothing. */
  async release(): Promise<void> {
    const current = await this.#mine();
    if (current === undefined) return;
    const body: LeaseBody = { owner: null, token: null, expiresAt: new Date(0).toISOString() };
    // A lost race here means someone else holds it now: nothing to release.
    await writeSecretSuccessor(this.#target, current, JSON.stringify(body), this.#kms);
  }

  /** The lease secret's current version if it is still this acquisition's. */
  async #mine(): Promise<string | undefined> {
    const current = await readSecret(this.#target);
    const body = current === undefined ? undefined : parseBody(current.text);
    return body?.token === this.#token ? current?.versionId : undefined;
  }
}
