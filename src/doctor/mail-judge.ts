/**
 * A message judged as a receiving mail server judges it, with mailauth and a resolver that
 * asks the domain's authoritative nameservers: the DKIM signature of the domain (`d=`,
 * `s=`, body hash, signature), SPF of the envelope sender from the client address the
 * receiving server stamped in `Received`, and DMARC alignment through DKIM or SPF. The
 * doctor's DMARC reading and this judge look at the same records; this one reads real mail.
 *
 * Only mailauth's DKIM, SPF and DMARC parts are loaded (not BIMI or ARC), so the Lambda
 * bundle carries no HTTP fetcher it never uses.
 */
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dmarc } from 'mailauth/lib/dmarc/index.js';
import { spf } from 'mailauth/lib/spf/index.js';
import type { MailCheck, MailVerdict } from '../domain/canary.js';
import type { MailJudge } from '../ports.js';
import type { MailResolver } from './mail-resolver.js';

/** The checks that decide a verdict; SPF is reported, but DMARC needs only one aligned pass. */
const DECIDING: readonly MailCheck[] = [
  'dkim-domain',
  'dkim-selector',
  'dkim-body-hash',
  'dkim-signature',
  'dmarc',
];

export interface JudgeOptions {
  resolver: MailResolver;
  /** The selector the domain should be signed with (the doctor's --send-test knows it). */
  expectedSelector?: string;
  /** Name of the receiving server in mailauth's results. */
  mta?: string;
}

/**
 * @example
 * ```ts
 * const verdict = await judgeMessage(raw, 'example.com', new Date(), { resolver: buildMailResolver(config) });
 * if (!verdict.pass) console.log(verdict.failing, verdict.checks.find((c) => !c.ok)?.detail);
 * ```
 */
export async function judgeMessage(
  raw: string,
  domain: string,
  now: Date,
  options: JudgeOptions,
): Promise<MailVerdict> {
  const resolver = options.resolver as never;
  const dkim = await dkimVerify(raw, { resolver, curTime: now } as never);
  const lower = domain.toLowerCase();
  const signatures = dkim.results
    .filter((r) => r.signingDomain)
    .map((r) => ({
      domain: String(r.signingDomain).toLowerCase(),
      selector: String(r.selector ?? ''),
      result: String(r.status.result),
      ...(r.status.comment ? { comment: String(r.status.comment) } : {}),
    }));
  const own = signatures.filter((s) => s.domain === lower);
  const verifying = own.find((s) => s.result === 'pass');
  const shown = verifying ?? own[0];
  const client = receivingClient(raw);
  const sender = typeof dkim.envelopeFrom === 'string' ? dkim.envelopeFrom : undefined;
  const spfResult = client
    ? await spf({
        ip: client.ip,
        ...(client.helo ? { helo: client.helo } : {}),
        ...(sender ? { sender } : {}),
        mta: options.mta ?? 'byodkim-canary',
        resolver,
      } as never)
    : undefined;
  const spfPass = spfResult?.status.result === 'pass';
  const dmarcResult = await dmarc({
    headerFrom: dkim.headerFrom,
    spfDomains: spfPass && spfResult?.domain ? [spfResult.domain] : [],
    dkimDomains: dkim.results
      .filter((r) => r.status.result === 'pass')
      .map((r) => ({
        domain: r.signingDomain,
        ...(r.status.aligned === undefined ? {} : { aligned: r.status.aligned }),
        ...(r.status.underSized === undefined ? {} : { underSized: r.status.underSized }),
      })),
    resolver,
  } as never);
  const dmarcStatus = dmarcResult ? String(dmarcResult.status.result) : 'none';
  const alignedBy: Array<'dkim' | 'spf'> = [];
  // mailauth gives `false` when the sender has no DMARC record.
  const alignment = dmarcResult ? dmarcResult.alignment : undefined;
  if (alignment?.dkim.result) alignedBy.push('dkim');
  if (alignment?.spf.result) alignedBy.push('spf');

  const checks: MailVerdict['checks'] = [
    {
      check: 'dkim-domain',
      ok: own.length > 0,
      detail:
        own.length > 0
          ? `signed d=${lower}`
          : `no signature with d=${lower}${signatures.length > 0 ? ` (only ${signatures.map((s) => `d=${s.domain}`).join(', ')})` : ''}`,
    },
    {
      check: 'dkim-selector',
      ok:
        shown !== undefined &&
        (options.expectedSelector === undefined || shown.selector === options.expectedSelector),
      detail:
        shown === undefined
          ? 'no selector: the domain did not sign'
          : options.expectedSelector === undefined || shown.selector === options.expectedSelector
            ? `s=${shown.selector}`
            : `s=${shown.selector}, expected s=${options.expectedSelector}`,
    },
    {
      check: 'dkim-body-hash',
      ok: shown !== undefined && shown.comment !== 'body hash did not verify',
      detail:
        shown === undefined
          ? 'no signature of the domain'
          : shown.comment === 'body hash did not verify'
            ? 'the body hash did not verify: the body changed after signing'
            : 'body hash verifies',
    },
    {
      check: 'dkim-signature',
      ok: verifying !== undefined,
      detail:
        verifying !== undefined
          ? `signature verifies against ${verifying.selector}._domainkey.${lower}`
          : shown === undefined
            ? 'no signature of the domain'
            : `${shown.result}${shown.comment ? `: ${shown.comment}` : ''} (${shown.selector}._domainkey.${lower})`,
    },
    {
      check: 'spf',
      ok: spfPass,
      detail: spfResult
        ? `${spfResult.status.result} for ${spfResult.domain ?? sender ?? '?'} from ${client?.ip}`
        : 'no client address in a Received header',
    },
    {
      check: 'dmarc',
      ok: dmarcStatus === 'pass',
      detail: dmarcResult
        ? `${dmarcStatus}${alignedBy.length > 0 ? `, aligned through ${alignedBy.join(' and ')}` : ', nothing aligned'}${dmarcResult.policy ? ` (p=${dmarcResult.policy})` : ''}`
        : 'no From domain to judge',
    },
  ];
  const failing = checks.find((c) => !c.ok && DECIDING.includes(c.check))?.check;
  return {
    pass: failing === undefined,
    signed: verifying !== undefined,
    ...(shown ? { selector: shown.selector } : {}),
    dmarc: { result: dmarcStatus, alignedBy },
    spf: {
      result: spfResult ? String(spfResult.status.result) : 'none',
      ...(spfResult?.domain ? { domain: spfResult.domain } : {}),
    },
    signatures,
    checks,
    ...(failing ? { failing } : {}),
  };
}

/** The client the receiving server stamped in the topmost `Received: from host (... [ip])`. */
export function receivingClient(raw: string): { ip: string; helo?: string } | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  for (const line of head.split(/\r?\n/)) {
    if (!/^received:/i.test(line)) continue;
    const match = /from\s+(\S+)[^;]*?\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/i.exec(line);
    if (match?.[2]) return { ip: match[2], ...(match[1] ? { helo: match[1] } : {}) };
  }
  return undefined;
}

/** The judge port over a resolver (gather and `doctor --send-test`). */
export function mailJudge(resolver: MailResolver): MailJudge {
  return { judge: (raw, domain, now) => judgeMessage(raw, domain, now, { resolver }) };
}
