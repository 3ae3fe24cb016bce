/**
 * Custom MAIL FROM, read as the SES guide sets it up and as a DMARC receiver judges it.
 *
 * SES holds one BYODKIM key per identity, so after every switch, until SES has checked the
 * new selector, mail carries only SES's own `d=amazonses.com` signature, which does not
 * align (SES-REALITY.md §2). DMARC then passes only through SPF alignment: the envelope
 * sender (MAIL FROM) must be a subdomain of the mail domain that SES verified (MX at SES's
 * feedback endpoint of the region), whose SPF authorizes amazonses.com, under DMARC
 * `aspf=r` (relaxed: a subdomain aligns; `aspf=s` wants the From domain exactly).
 */
import type { SesDkimView } from '../ports.js';
import type { Severity } from './finding.js';
import type { LookupAnswer, MailFromUse, MxLookupAnswer } from './observation.js';

/** TTL in the MX and SPF lines a fix asks for: records that never change once set. */
export const MAIL_FROM_TTL = 3600;

/** The SPF mechanism the SES guide publishes at a custom MAIL FROM domain. */
export const SES_SPF_INCLUDE = 'include:amazonses.com';

/** SES's feedback endpoint of a region: the one MX a MAIL FROM domain has (SES MAIL FROM guide). */
export function feedbackHost(region: string): string {
  return `feedback-smtp.${region}.amazonses.com`;
}

/** `name` lies strictly below `domain` (case-insensitive, trailing dots ignored). */
export function isSubdomainOf(name: string, domain: string): boolean {
  return bare(name).endsWith(`.${bare(domain)}`);
}

function bare(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** One region's MAIL FROM from SES's view. */
export function mailFromUse(view: SesDkimView): MailFromUse {
  return {
    region: view.region,
    mailFromDomain: view.mailFromDomain ? bare(view.mailFromDomain) : undefined,
    status: view.mailFromStatus,
    behaviorOnMxFailure: view.mailFromBehaviorOnMxFailure,
    dkimAlignedNow: view.status === 'SUCCESS' && view.signingEnabled !== false,
  };
}

/** SPF can align for the domain through this MAIL FROM: set, a subdomain, SES SUCCESS. */
export function alignsForDomain(use: MailFromUse, domain: string): boolean {
  return (
    use.mailFromDomain !== undefined && isSubdomainOf(use.mailFromDomain, domain) && use.status === 'SUCCESS'
  );
}

/**
 * How much a MAIL FROM problem matters: a warning while SES signs with the domain's key in
 * every region concerned (DMARC passes through DKIM; the next switch gap will fail), an
 * error when one of them does not sign with it now (mail fails DMARC now), or when SES is
 * told to refuse mail while the MAIL FROM is not verified.
 */
export function gapSeverity(uses: readonly MailFromUse[], refusesMail = false): Severity {
  return refusesMail || uses.some((u) => !u.dkimAlignedNow) ? 'error' : 'warning';
}

/** SES refuses to send while the MAIL FROM is not SUCCESS. */
export function refusesMail(use: MailFromUse): boolean {
  return use.behaviorOnMxFailure === 'REJECT_MESSAGE';
}

/** `, and SES does not sign with …'s key in R now (DKIM PENDING): mail from there fails DMARC now`. */
export function nowClause(uses: readonly MailFromUse[], domain: string): string {
  const uncovered = uses.filter((u) => !u.dkimAlignedNow).map((u) => u.region);
  if (uncovered.length === 0) return '';
  return `; SES does not sign with ${domain}'s key in ${uncovered.join(', ')} now, so mail from there fails DMARC now`;
}

/** What the next switch gap costs, in the words of the core's DmarcUncoveredDuringGap warning. */
export function gapConsequence(domain: string): string {
  return `while SES re-verifies a new selector after each switch, mail from ${domain} carries only SES's d=amazonses.com DKIM signature and fails DMARC unless SPF aligns`;
}

/** `<name>. 3600 IN MX 10 feedback-smtp.<region>.amazonses.com.` */
export function mxLine(name: string, region: string): string {
  return `${bare(name)}. ${MAIL_FROM_TTL} IN MX 10 ${feedbackHost(region)}.`;
}

/** `<name>. 3600 IN TXT "v=spf1 include:amazonses.com ~all"` (the SES guide's record). */
export function spfLine(name: string): string {
  return `${bare(name)}. ${MAIL_FROM_TTL} IN TXT "v=spf1 ${SES_SPF_INCLUDE} ~all"`;
}

/** The CLI call that sets (or restarts the check of) a MAIL FROM domain in SES. */
export function putMailFromCommand(
  domain: string,
  region: string,
  mailFromDomain: string,
  behaviorOnMxFailure = 'USE_DEFAULT_VALUE',
): string {
  return `aws sesv2 put-email-identity-mail-from-attributes --region ${region} --email-identity ${domain} --mail-from-domain ${mailFromDomain} --behavior-on-mx-failure ${behaviorOnMxFailure}`;
}

/** The whole set-up of a MAIL FROM subdomain in one region, as a fix. */
export function setUpInstruction(
  domain: string,
  region: string,
  mailFromDomain = `bounce.${domain}`,
): string {
  return (
    `set a MAIL FROM subdomain that receives no mail (e.g. ${mailFromDomain}) in ${region}: ` +
    `"${putMailFromCommand(domain, region, mailFromDomain)}" (or the SES console: identity ${domain}, ` +
    `Custom MAIL FROM domain), publish \`${mxLine(mailFromDomain, region)}\` and ` +
    `\`${spfLine(mailFromDomain)}\`, and keep DMARC aspf relaxed (aspf=r, the default)`
  );
}

export type MxState = 'ok' | 'missing' | 'wrong' | 'failed';

/** A MAIL FROM domain's MX as one nameserver serves it, judged for one region. */
export interface MxReading {
  state: MxState;
  /** The exchanges served, `10 host` each. */
  served: string[];
  /** Served exchanges other than the region's feedback host. */
  foreign: string[];
}

/**
 * At least one MX and every exchange the region's feedback host: what SES's check wants
 * (and a MAIL FROM domain must not receive mail), the SES emulator's rule (SPEC.md §7).
 */
export function readMx(answer: MxLookupAnswer, region: string): MxReading {
  const served = answer.mx.map((r) => `${r.preference} ${r.exchange}`);
  if (answer.outcome === 'failed') return { state: 'failed', served, foreign: [] };
  const expected = feedbackHost(region);
  const foreign = answer.mx.map((r) => r.exchange).filter((exchange) => exchange !== expected);
  const state: MxState = answer.mx.length === 0 ? 'missing' : foreign.length > 0 ? 'wrong' : 'ok';
  return { state, served, foreign };
}

const QUALIFIED: Record<string, string> = { '-': 'fail', '~': 'softfail', '?': 'neutral' };

export type SpfReading =
  | { state: 'ok'; record: string }
  | { state: 'missing' }
  | { state: 'failed' }
  | { state: 'wrong'; records: string[]; problem: string };

/**
 * The SPF policy (RFC 7208 §4.5) one nameserver serves at a MAIL FROM domain, judged for
 * SES: exactly one `v=spf1` record whose `include:amazonses.com` (no qualifier or `+`)
 * comes before any `all`. Other includes and `redirect=` are not followed: a record that
 * reaches amazonses.com only through them is reported, saying so.
 */
export function readSpf(answer: LookupAnswer): SpfReading {
  if (answer.outcome === 'failed') return { state: 'failed' };
  // RFC 7208 §3.3: a record's strings are concatenated without anything between them.
  const records = answer.txt.map((r) => r.strings.join('')).filter((v) => /^v=spf1( |$)/i.test(v));
  const [record, ...others] = records;
  if (record === undefined) return { state: 'missing' };
  if (others.length > 0) {
    return {
      state: 'wrong',
      records,
      problem: `${records.length} SPF records: receivers stop with a permerror (RFC 7208 §4.5)`,
    };
  }
  const terms = record.split(/ +/).slice(1);
  const include = terms.findIndex((t) => /^[+~?-]?include:amazonses\.com\.?$/i.test(t));
  const all = terms.findIndex((t) => /^[+~?-]?all$/i.test(t));
  const term = include >= 0 ? (terms[include] ?? '') : '';
  const qualifier = /^[~?-]/.test(term) ? term.charAt(0) : '+';
  const evaluated = include >= 0 && (all < 0 || include < all);
  if (evaluated && qualifier === '+') return { state: 'ok', record };
  let problem: string;
  if (include >= 0 && !evaluated) {
    problem = `${SES_SPF_INCLUDE} comes after "${terms[all]}", and nothing after "all" is evaluated`;
  } else if (include >= 0) {
    problem = `"${term}" is qualified "${qualifier}": a match gives ${QUALIFIED[qualifier]}, not pass`;
  } else {
    const indirect = terms.filter((t) => /^[+]?(include:|redirect=)/i.test(t));
    problem =
      `the record does not contain ${SES_SPF_INCLUDE}` +
      (indirect.length > 0
        ? ` (byodkim does not follow ${indirect.join(', ')}; if one of them authorizes amazonses.com, SPF passes)`
        : '');
  }
  return { state: 'wrong', records, problem };
}
