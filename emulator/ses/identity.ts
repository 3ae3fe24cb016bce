/**
 * One SES identity and its DKIM state machine (SPEC.md §3). Transitions are plain functions
 * of (identity, outcome, now) so the whole machine is deterministic under a virtual clock.
 *
 *                  put (response says NOT_STARTED)
 *                              |
 *                              v
 *        +------------------ PENDING <----------------------+
 *        |                   |  ^  | DNS / service failure  |
 *  records match             |  |  v                        |
 *        |                   | TEMPORARY_FAILURE            |
 *        v                   |     |                        |
 *     SUCCESS <--------------+-----+ records match          |
 *     |    ^                       |                        |
 *  recheck | records match again   | no match, window over  |
 *  fails   |                       v                        |
 *     v    |                     FAILED ----- new put ------+
 *   TEMPORARY_FAILURE ---- window over ---^
 */

import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { CheckOutcome, VerificationError } from './dns-check.js';
import type { MailFromSetting } from './mail-from.js';
import {
  nextScheduledCheck,
  type Timing,
  type Window,
  windowEndMs,
  windowOpenedByPut,
  windowOpenedByRecheck,
} from './schedule.js';
import type { HeldKey, KeyLength } from './validation.js';

export type DkimStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE';

export type DkimConfig =
  | {
      readonly origin: 'EXTERNAL';
      readonly selector: string;
      /** Undefined when SES accepted a key it cannot use (SPEC.md §4, unusableKey). */
      readonly key: HeldKey | undefined;
    }
  | {
      readonly origin: 'AWS_SES';
      readonly tokens: readonly [string, string, string];
      readonly currentKeyLength: KeyLength;
      nextKeyLength: KeyLength;
      readonly lastKeyGenerationMs: number;
      /** The key "SES" signs with for Easy DKIM; made on first use. */
      signingKey?: Promise<KeyObject>;
    };

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

/** A DNS check under way, shared by concurrent readers of the same configuration. */
export interface InflightCheck {
  readonly generation: number;
  readonly done: Promise<void>;
}

export interface Identity {
  /** As first created. */
  readonly name: string;
  readonly key: string;
  readonly type: 'DOMAIN' | 'EMAIL_ADDRESS';
  readonly domain: string;
  readonly tags: readonly Tag[];
  readonly configurationSetName: string | undefined;
  /** Undefined for email address identities. */
  dkim: DkimConfig | undefined;
  signingEnabled: boolean;
  status: DkimStatus;
  /** The current 72 h window (put, or the recheck that first failed). */
  window: Window;
  /** The next scheduled check while PENDING / TEMPORARY_FAILURE. */
  nextCheckMs: number;
  lastCheckedMs: number | undefined;
  lastSuccessMs: number | undefined;
  lastError: VerificationError | undefined;
  /** Identity verification is sticky once DKIM succeeded, until DKIM reaches FAILED. */
  verified: boolean;
  /** Bumped on every change of DKIM configuration, so a check begun before it is dropped. */
  generation: number;
  inflightCheck: InflightCheck | undefined;
  mailFrom: MailFromSetting;
}

export function newIdentity(
  init: {
    name: string;
    key: string;
    type: 'DOMAIN' | 'EMAIL_ADDRESS';
    domain: string;
    tags: readonly Tag[];
    configurationSetName: string | undefined;
    dkim: DkimConfig | undefined;
  },
  nowMs: number,
  timing: Timing,
): Identity {
  const window = windowOpenedByPut(nowMs, timing);
  return {
    ...init,
    signingEnabled: init.dkim !== undefined,
    status: 'PENDING',
    window,
    nextCheckMs: window.firstCheckMs,
    lastCheckedMs: undefined,
    lastSuccessMs: undefined,
    lastError: undefined,
    verified: false,
    generation: 0,
    inflightCheck: undefined,
    mailFrom: { behavior: 'USE_DEFAULT_VALUE', domain: undefined },
  };
}

/** A new DKIM configuration: verification starts over (SPEC.md §2.5, every put restarts it). */
export function restartVerification(
  identity: Identity,
  dkim: DkimConfig,
  nowMs: number,
  timing: Timing,
): void {
  identity.dkim = dkim;
  identity.status = 'PENDING';
  identity.window = windowOpenedByPut(nowMs, timing);
  identity.nextCheckMs = identity.window.firstCheckMs;
  identity.lastError = undefined;
  identity.generation += 1;
}

export function isCheckDue(identity: Identity, nowMs: number, timing: Timing): boolean {
  if (identity.dkim === undefined || identity.status === 'FAILED') return false;
  const last = identity.lastCheckedMs;
  if (identity.status === 'SUCCESS') return last === undefined || nowMs >= last + timing.recheckIntervalMs;
  return nowMs >= identity.nextCheckMs;
}

/** DNS and service failures are temporary: SES could not tell (SPEC.md §3). */
export function isTemporary(error: VerificationError): boolean {
  return error === 'DNS_SERVER_ERROR' || error === 'SERVICE_ERROR';
}

export function applyCheckOutcome(
  identity: Identity,
  outcome: CheckOutcome,
  nowMs: number,
  timing: Timing,
): void {
  identity.lastCheckedMs = nowMs;
  if (outcome.ok) {
    identity.status = 'SUCCESS';
    identity.lastSuccessMs = nowMs;
    identity.lastError = undefined;
    identity.verified = true;
    return;
  }
  identity.lastError = outcome.error;
  if (identity.status === 'SUCCESS') {
    identity.status = 'TEMPORARY_FAILURE';
    identity.window = windowOpenedByRecheck(nowMs, timing);
    identity.nextCheckMs = identity.window.firstCheckMs;
    return;
  }
  if (nowMs >= windowEndMs(identity.window, timing)) {
    identity.status = 'FAILED';
    identity.verified = false;
    return;
  }
  identity.status =
    identity.window.kind === 'recheck' || isTemporary(outcome.error) ? 'TEMPORARY_FAILURE' : 'PENDING';
  identity.nextCheckMs = nextScheduledCheck(identity.window, nowMs, timing);
}

export type VerificationStatus = DkimStatus | 'NOT_STARTED';

export function verificationStatusOf(identity: Identity): VerificationStatus {
  if (identity.type === 'EMAIL_ADDRESS') return 'PENDING';
  return identity.verified ? 'SUCCESS' : identity.status;
}

export function signsWithDomainKey(identity: Identity): boolean {
  return identity.dkim !== undefined && identity.signingEnabled && identity.status === 'SUCCESS';
}

export function easyDkimTokens(): [string, string, string] {
  return [base32Token(), base32Token(), base32Token()];
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 32 characters of lower-case base32, the shape of Easy DKIM tokens. */
function base32Token(): string {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
      value &= (1 << bits) - 1;
    }
  }
  return out;
}
