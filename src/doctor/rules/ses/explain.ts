/**
 * SES's VerificationInfo, explained for an operator: what each ErrorType means for a
 * BYODKIM identity and what to do about it.
 */
import type { SesDkimView } from '../../../ports.js';
import { describeTime } from '../../fix.js';

/** `<selector>._domainkey.<domain>` for the selector SES holds, or a generic phrase. */
export function sesRecordName(view: SesDkimView): string {
  const selector = view.tokens[0];
  return view.origin === 'EXTERNAL' && selector !== undefined
    ? `${selector}._domainkey.${view.identity}`
    : `the DKIM record names of ${view.identity}`;
}

const MEANING: Record<string, string> = {
  HOST_NOT_FOUND: 'SES got NXDOMAIN: no record at the name',
  TYPE_NOT_FOUND: 'the name exists but has no TXT record',
  INVALID_VALUE: 'the TXT record does not hold the key SES has',
  DNS_SERVER_ERROR: "SES's resolver got SERVFAIL or no answer from the domain's nameservers",
  SERVICE_ERROR: 'an error inside SES',
};

/** `ErrorType INVALID_VALUE (the TXT record does not hold the key SES has)`. */
export function describeErrorType(errorType: string | undefined): string {
  if (errorType === undefined) return 'no ErrorType';
  const meaning = MEANING[errorType] ?? (errorType.startsWith('REPLICATION_') ? 'a replication problem' : '');
  return `ErrorType ${errorType}${meaning ? ` (${meaning})` : ''}`;
}

/** `last checked 2026-…Z (2 h ago), last success never`. */
export function describeChecks(view: SesDkimView, now: Date): string {
  return `last checked ${describeTime(view.lastCheckedAt, now)}, last success ${describeTime(view.lastSuccessAt, now)}`;
}

/** What to do about a verification ErrorType. */
export function fixForErrorType(view: SesDkimView): string {
  const name = sesRecordName(view);
  switch (view.verificationError) {
    case 'HOST_NOT_FOUND':
      return `publish the TXT record at ${name} (see the DNS findings for it: a doubled name or a missing "_domainkey" label is the usual cause)`;
    case 'TYPE_NOT_FOUND':
      return `publish a TXT record at ${name}; replace whatever is there instead (a CNAME, or a record of another type)`;
    case 'INVALID_VALUE':
      return `make the TXT record at ${name} hold exactly the public key of the key SES has (see the DNS findings: placeholder, truncation, stray quotes)`;
    case 'DNS_SERVER_ERROR':
      return `make every authoritative nameserver of ${view.identity} answer for the zone (see DNS_NAMESERVER_FAILED findings); SES retries on its own`;
    case 'SERVICE_ERROR':
      return 'nothing to change on your side: SES retries; if it persists for hours, open an AWS support case';
    case undefined:
      return `check the record at ${name} (see the DNS findings) and wait for SES's next check`;
    default:
      return view.verificationError.startsWith('REPLICATION_')
        ? `fix the identity's replication set-up (Global endpoints: the primary region's identity and its BYODKIM support), then re-verify`
        : `check the record at ${name} (see the DNS findings)`;
  }
}
