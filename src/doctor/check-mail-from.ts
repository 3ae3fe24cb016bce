/**
 * The doctor's MAIL FROM pass for one domain: for each region's custom MAIL FROM domain,
 * the MX on every authoritative nameserver (judged for that region) and, once per MAIL
 * FROM domain, the SPF; then the pure rules. The SES side (set, subdomain, status) runs
 * with the other SES rules, and `aspf` with the DMARC rules.
 */
import type { RuleFinding } from './finding.js';
import { type MxState, readMx, readSpf } from './mail-from.js';
import type { LookupAnswer, MailFromUse, MxLookupAnswer } from './observation.js';
import { MAIL_FROM_MX_RULES, MAIL_FROM_SPF_RULES } from './rules/index.js';

/** One region's custom MAIL FROM in the report. */
export interface MailFromSummary {
  region: string;
  /** SES's MailFromDomain; absent when none is set. */
  mailFromDomain?: string;
  status?: string;
  behaviorOnMxFailure?: string;
  /** Per nameserver of the MAIL FROM domain: its MX (for this region) and SPF, in a word. */
  nameservers: Array<{ nameserver: string; mx: MxState; spf: 'ok' | 'missing' | 'wrong' | 'failed' }>;
}

export interface MailFromLookups {
  lookupMx(name: string): Promise<MxLookupAnswer[]>;
  lookupTxt(name: string): Promise<LookupAnswer[]>;
}

export async function checkMailFrom(
  domain: string,
  uses: readonly MailFromUse[],
  dns: MailFromLookups,
): Promise<{ findings: RuleFinding[]; summaries: MailFromSummary[] }> {
  const names = [...new Set(uses.flatMap((u) => (u.mailFromDomain === undefined ? [] : [u.mailFromDomain])))];
  const answers = new Map(
    await Promise.all(
      names.map(
        async (name) => [name, await Promise.all([dns.lookupMx(name), dns.lookupTxt(name)])] as const,
      ),
    ),
  );
  const findings: RuleFinding[] = [];
  for (const [name, [, spfAnswers]] of answers) {
    const users = uses.filter((u) => u.mailFromDomain === name);
    for (const answer of spfAnswers) {
      findings.push(
        ...MAIL_FROM_SPF_RULES.flatMap((rule) => rule.check({ domain, mailFromDomain: name, users, answer })),
      );
    }
  }
  const summaries = uses.map((use): MailFromSummary => {
    const summary: MailFromSummary = { region: use.region, nameservers: [] };
    if (use.mailFromDomain === undefined) return withOptional(summary, use);
    const [mxAnswers = [], spfAnswers = []] = answers.get(use.mailFromDomain) ?? [];
    const withDomain = { ...use, mailFromDomain: use.mailFromDomain };
    for (const answer of mxAnswers) {
      findings.push(...MAIL_FROM_MX_RULES.flatMap((rule) => rule.check({ domain, use: withDomain, answer })));
      const spf = spfAnswers.find((a) => a.nameserver === answer.nameserver);
      summary.nameservers.push({
        nameserver: answer.nameserver,
        mx: readMx(answer, use.region).state,
        spf: spf === undefined ? 'failed' : readSpf(spf).state,
      });
    }
    return withOptional(summary, use);
  });
  return { findings, summaries };
}

function withOptional(summary: MailFromSummary, use: MailFromUse): MailFromSummary {
  return {
    region: summary.region,
    ...(use.mailFromDomain === undefined ? {} : { mailFromDomain: use.mailFromDomain }),
    ...(use.status === undefined ? {} : { status: use.status }),
    ...(use.behaviorOnMxFailure === undefined ? {} : { behaviorOnMxFailure: use.behaviorOnMxFailure }),
    nameservers: summary.nameservers,
  };
}
