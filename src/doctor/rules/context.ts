/**
 * What each family of rules is given. Plain data: the gatherer builds it from SES, DNS and
 * the state store; tests build it from literals (see test/unit/doctor/support.ts).
 */
import type { DomainState } from '../../domain/state.js';
import type { AnswerAnalysis } from '../dkim-value.js';
import type { ExpectedRecord, LookupAnswer, MailFromUse, MxLookupAnswer, SesRead } from '../observation.js';

/** One expected DKIM record as one authoritative nameserver serves it. */
export interface RecordContext {
  domain: string;
  record: ExpectedRecord;
  answer: LookupAnswer;
  /** {@link analyzeAnswer} of `answer` against `record.publicKey`. */
  analysis: AnswerAnalysis;
  /** policy.graceDays of the domain. */
  graceDays: number;
  /** TTL to put in the records a fix asks for (the domain's dns.ttl). */
  ttl: number;
  /**
   * The zone this domain's selectors are delegated to by CNAME, or undefined when TXT
   * records are expected at the selector names. Hook for delegated zones: see delegation.ts.
   */
  delegatedTo: string | undefined;
}

/** One ring CNAME of a delegated domain, as one of the mail domain's nameservers serves it. */
export interface DelegationContext {
  domain: string;
  cname: { selector: string; name: string; target: string };
  answer: LookupAnswer;
  /** The selector is active, being switched to, or held by SES. */
  inUse: boolean;
}

export type StrayKind = 'doubled' | 'no-domainkey';

/** A name where a DKIM record is often published by mistake, as one nameserver serves it. */
export interface StrayNameContext {
  domain: string;
  record: ExpectedRecord;
  kind: StrayKind;
  answer: LookupAnswer;
  /** The same nameserver serves a DKIM record at the right name too. */
  rightNameServed: boolean;
  ttl: number;
}

export interface SesContext {
  domain: string;
  region: string;
  read: SesRead;
  /** The selector of state's active key, if there is one. */
  activeSelector: string | undefined;
  /** Selectors byodkim is switching SES to right now (verified keys with switchedAt). */
  switchingSelectors: readonly string[];
  /** The state store has keys for the domain. */
  stateKnown: boolean;
  createIdentity: boolean;
  /** `adopt --from-easy-dkim` asked byodkim to move the identity off Easy DKIM. */
  easyDkimTakeover: boolean;
  now: Date;
}

export interface DmarcContext {
  domain: string;
  /** What one nameserver serves at `_dmarc.<domain>`. */
  answer: LookupAnswer;
  /**
   * When the domain has no DMARC record of its own: the same nameserver's answer at
   * `_dmarc.<organizational domain>`, whose policy (sp=) then applies (RFC 7489 §6.6.3).
   */
  inherited: LookupAnswer | undefined;
  ttl: number;
  /** The custom MAIL FROM of each region whose identity SES could read (see mail-from.ts). */
  mailFrom: readonly MailFromUse[];
}

/** One region's custom MAIL FROM domain, as one of its nameservers serves its MX. */
export interface MailFromMxContext {
  domain: string;
  use: MailFromUse & { mailFromDomain: string };
  answer: MxLookupAnswer;
}

/** A custom MAIL FROM domain's SPF, as one of its nameservers serves it. */
export interface MailFromSpfContext {
  domain: string;
  mailFromDomain: string;
  /** The regions whose SES uses this MAIL FROM domain. */
  users: readonly MailFromUse[];
  answer: LookupAnswer;
}

export interface StateContext {
  domain: string;
  state: DomainState | undefined;
  /** Why the state could not be read, if it could not. */
  readError: string | undefined;
  storeDescription: string;
  /** Selectors SES holds, by region (EXTERNAL identities only). */
  sesSelectors: Readonly<Record<string, string>>;
  now: Date;
}
