/**
 * What each BYODKIM put sent (SPEC.md §4): the key's format and what SES made of it, so a
 * product test can assert, for example, that the key arrived as PKCS #1. No key material.
 */
import type { KeyFormat } from './validation.js';

export interface KeyPut {
  /** Emulator clock, ISO. */
  readonly at: string;
  readonly account: string;
  readonly region: string;
  /** As written in the request. */
  readonly identity: string;
  /** `SwapKey`: the emulator's out-of-band swap (SPEC.md §16). */
  readonly operation: 'CreateEmailIdentity' | 'PutEmailIdentityDkimSigningAttributes' | 'SwapKey';
  readonly selector: string;
  readonly format: KeyFormat;
  readonly keyType?: string;
  readonly bits?: number;
  readonly outcome: 'accepted' | 'accepted-unusable' | 'rejected';
  readonly problem?: string;
}

export interface KeyPutFilter {
  readonly account?: string | undefined;
  readonly region?: string | undefined;
  readonly identity?: string | undefined;
}

export class KeyPutLog {
  #puts: KeyPut[] = [];

  record(put: KeyPut): void {
    this.#puts.push(put);
  }

  list(filter: KeyPutFilter = {}): KeyPut[] {
    const identity = filter.identity?.toLowerCase();
    return this.#puts.filter(
      (put) =>
        (filter.account === undefined || put.account === filter.account) &&
        (filter.region === undefined || put.region === filter.region) &&
        (identity === undefined || put.identity.toLowerCase() === identity),
    );
  }

  clear(): void {
    this.#puts = [];
  }
}
