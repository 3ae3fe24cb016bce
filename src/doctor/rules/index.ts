/**
 * Every check the doctor runs, by what it looks at. Order is the order of the report
 * within a severity: the most specific diagnoses come before the generic ones.
 */
import type { CodeInfo, Rule } from '../finding.js';
import type {
  DelegationContext,
  DmarcContext,
  MailFromMxContext,
  MailFromSpfContext,
  RecordContext,
  SesContext,
  StateContext,
  StrayNameContext,
} from './context.js';
import { dmarcAdkimStrict } from './dmarc/adkim-strict.js';
import { dmarcAspfStrict } from './dmarc/aspf-strict.js';
import { dmarcInvalid } from './dmarc/invalid.js';
import { dmarcMissing } from './dmarc/missing.js';
import { dmarcMultiple } from './dmarc/multiple.js';
import { dmarcPolicy } from './dmarc/policy.js';
import { chunkWhitespace } from './dns/chunk-whitespace.js';
import { cnameInsteadOfTxt } from './dns/cname.js';
import { delegationCname } from './dns/delegation-cname.js';
import { doubledName } from './dns/doubled-name.js';
import { extraTxt } from './dns/extra-txt.js';
import { keyInvalid } from './dns/key-invalid.js';
import { keyMismatch } from './dns/key-mismatch.js';
import { recordMissing } from './dns/missing.js';
import { multipleTxt } from './dns/multiple-txt.js';
import { nameserverFailed } from './dns/nameserver.js';
import { noDomainkeyLabel } from './dns/no-domainkey.js';
import { placeholderKey } from './dns/placeholder.js';
import { keyRevoked } from './dns/revoked.js';
import { splitAcrossRecords } from './dns/split-across-records.js';
import { splitWrong } from './dns/split-wrong.js';
import { strayBackslash } from './dns/stray-backslash.js';
import { strayQuotes } from './dns/stray-quotes.js';
import { testingFlag } from './dns/testing-flag.js';
import { keyTruncated } from './dns/truncated.js';
import { ttlExceedsGrace } from './dns/ttl.js';
import { mailFromMissing } from './mail-from/missing.js';
import { mailFromMx } from './mail-from/mx.js';
import { mailFromDnsFailed } from './mail-from/nameserver.js';
import { mailFromNotSubdomain } from './mail-from/not-subdomain.js';
import { mailFromSpf } from './mail-from/spf.js';
import { mailFromNotVerified } from './mail-from/status.js';
import { sesDkimStatus } from './ses/dkim-status.js';
import { sesIdentityMissing, sesReadFailed } from './ses/identity.js';
import { sesNotByodkim } from './ses/origin.js';
import { sesSelector } from './ses/selector.js';
import { sesSigningDisabled } from './ses/signing.js';
import { sesNotVerifiedForSending } from './ses/verification.js';
import { stateHandOffPending, stateMissing, stateNoActiveKey, stateReadFailed } from './state/state.js';

export const STATE_RULES: readonly Rule<StateContext>[] = [
  stateReadFailed,
  stateMissing,
  stateNoActiveKey,
  stateHandOffPending,
];

export const SES_RULES: readonly Rule<SesContext>[] = [
  sesReadFailed,
  sesIdentityMissing,
  sesNotVerifiedForSending,
  sesNotByodkim,
  sesDkimStatus,
  sesSigningDisabled,
  sesSelector,
];

/**
 * Custom MAIL FROM per region, from SES's view: what keeps DMARC passing through a switch
 * gap (see mail-from.ts).
 */
export const MAIL_FROM_RULES: readonly Rule<SesContext>[] = [
  mailFromMissing,
  mailFromNotSubdomain,
  mailFromNotVerified,
];

/** The MX of a region's MAIL FROM domain, per nameserver. */
export const MAIL_FROM_MX_RULES: readonly Rule<MailFromMxContext>[] = [mailFromDnsFailed, mailFromMx];

/** The SPF of a MAIL FROM domain, per nameserver. */
export const MAIL_FROM_SPF_RULES: readonly Rule<MailFromSpfContext>[] = [mailFromSpf];

export const RECORD_RULES: readonly Rule<RecordContext>[] = [
  nameserverFailed,
  recordMissing,
  cnameInsteadOfTxt,
  splitAcrossRecords,
  multipleTxt,
  placeholderKey,
  keyTruncated,
  splitWrong,
  strayQuotes,
  strayBackslash,
  keyRevoked,
  keyMismatch,
  keyInvalid,
  chunkWhitespace,
  extraTxt,
  testingFlag,
  ttlExceedsGrace,
];

export const STRAY_NAME_RULES: readonly Rule<StrayNameContext>[] = [doubledName, noDomainkeyLabel];

export const DELEGATION_RULES: readonly Rule<DelegationContext>[] = [delegationCname];

export const DMARC_RULES: readonly Rule<DmarcContext>[] = [
  dmarcMultiple,
  dmarcInvalid,
  dmarcMissing,
  dmarcPolicy,
  dmarcAdkimStrict,
  dmarcAspfStrict,
];

/** Every code any rule can emit, for documentation and tests. */
export function allCodes(): CodeInfo[] {
  const rules: ReadonlyArray<{ codes: readonly CodeInfo[] }> = [
    ...STATE_RULES,
    ...SES_RULES,
    ...MAIL_FROM_RULES,
    ...MAIL_FROM_MX_RULES,
    ...MAIL_FROM_SPF_RULES,
    ...RECORD_RULES,
    ...STRAY_NAME_RULES,
    ...DELEGATION_RULES,
    ...DMARC_RULES,
  ];
  return rules.flatMap((r) => r.codes);
}
