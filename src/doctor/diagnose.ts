/**
 * `byodkim doctor`, the engine: gather (state, SES per region, DNS on every authoritative
 * nameserver) → run the pure rules → one report per domain. Read-only: it takes no lease,
 * writes no state and changes nothing in SES or DNS.
 *
 *   state ─┐
 *   SES ───┼─▶ expected records ─▶ TXT? on every NS: the name, its doubled form,
 *   DNS ───┘                        <sel>.<domain>, _dmarc (+ org domain)
 *      │                                   │
 *      └─▶ MAIL FROM per region ─▶ MX? and TXT? (SPF) on every NS of the MAIL FROM domain
 *                                          │
 *      rules (state, SES, MAIL FROM, record, stray name, DMARC) ─▶ findings, merged per NS
 */
import type { DomainState } from '../domain/state.js';
import { describeError } from '../errors.js';
import type { SigningService, StateStore } from '../ports.js';
import { checkMailFrom, type MailFromSummary } from './check-mail-from.js';
import { analyzeAnswer, claimsDkim } from './dkim-value.js';
import { claimsDmarc } from './dmarc.js';
import type { DoctorDns } from './dns-lookup.js';
import { expectedRecords, sesSelectors } from './expectations.js';
import { bySeverity, type Finding, type Rule, type RuleFinding, type Severity } from './finding.js';
import { mailFromUse } from './mail-from.js';
import type { ExpectedRecord, KeyRole, LookupAnswer, MailFromUse, SesRead } from './observation.js';
import type { StrayKind } from './rules/context.js';
import {
  DELEGATION_RULES,
  DMARC_RULES,
  MAIL_FROM_RULES,
  RECORD_RULES,
  SES_RULES,
  STATE_RULES,
  STRAY_NAME_RULES,
} from './rules/index.js';

/** One configured domain, as the doctor needs it. */
export interface DoctorDomain {
  domain: string;
  regions: readonly string[];
  createIdentity: boolean;
  graceDays: number;
  /** TTL of records byodkim publishes (dns.ttl), used in fixes. */
  ttl: number;
  /** See delegation.ts. */
  delegatedTo: string | undefined;
  /** Delegated domains: the ring CNAMEs the mail domain must serve. */
  delegationCnames?: ReadonlyArray<{ selector: string; name: string; target: string }>;
}

export interface DoctorDeps {
  state: Pick<StateStore, 'load' | 'description'>;
  ses: Pick<SigningService, 'describe'>;
  dns: DoctorDns;
  now: Date;
}

export interface SesSummary {
  region: string;
  exists?: boolean;
  origin?: string;
  selector?: string;
  status?: string;
  signingEnabled?: boolean;
  verifiedForSending?: boolean;
  verificationStatus?: string;
  verificationError?: string;
  lastCheckedAt?: string;
  lastSuccessAt?: string;
  error?: string;
}

export interface RecordSummary {
  selector: string;
  role: KeyRole;
  name: string;
  sesRegions: string[];
  /** Per nameserver: `ok`, or what is wrong in a word. */
  nameservers: Array<{ nameserver: string; state: 'ok' | 'missing' | 'wrong' | 'failed'; ttl?: number }>;
}

export interface DmarcSummary {
  name: string;
  record: string;
  inherited: boolean;
}

export interface DomainReport {
  domain: string;
  regions: string[];
  healthy: boolean;
  counts: Record<Severity, number>;
  zone: string | undefined;
  ses: SesSummary[];
  records: RecordSummary[];
  dmarc: DmarcSummary | undefined;
  /** Each region's custom MAIL FROM (regions whose identity SES could read). */
  mailFrom: MailFromSummary[];
  findings: Finding[];
}

export interface DoctorReport {
  /** No error and no warning in any domain. */
  healthy: boolean;
  counts: Record<Severity, number>;
  domains: DomainReport[];
}

/**
 * Checks every domain (a few at a time; one domain's failure is its own finding, never the
 * whole report's).
 *
 * @example
 * ```ts
 * const report = await diagnose(domains, { state, ses, dns: buildDoctorDns(config), now: new Date() });
 * process.exitCode = report.healthy ? 0 : 1;
 * ```
 */
export async function diagnose(
  domains: readonly DoctorDomain[],
  deps: DoctorDeps,
  options: { concurrency?: number } = {},
): Promise<DoctorReport> {
  const reports: DomainReport[] = new Array(domains.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < domains.length) {
      const index = next++;
      reports[index] = await diagnoseDomain(domains[index] as DoctorDomain, deps);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, domains.length)) }, worker),
  );
  const counts = emptyCounts();
  for (const r of reports) for (const s of Object.keys(counts) as Severity[]) counts[s] += r.counts[s];
  return { healthy: reports.every((r) => r.healthy), counts, domains: reports };
}

export async function diagnoseDomain(target: DoctorDomain, deps: DoctorDeps): Promise<DomainReport> {
  const { domain } = target;
  const findings: RuleFinding[] = [];

  // ---- gather: state and SES ----
  let state: DomainState | undefined;
  let readError: string | undefined;
  try {
    state = (await deps.state.load(domain))?.value;
  } catch (error) {
    readError = describeError(error);
  }
  const ses: Record<string, SesRead> = Object.fromEntries(
    await Promise.all(
      target.regions.map(async (region): Promise<[string, SesRead]> => {
        try {
          return [region, { ok: true, view: await deps.ses.describe(domain, region) }];
        } catch (error) {
          return [region, { ok: false, error: describeError(error) }];
        }
      }),
    ),
  );

  findings.push(
    ...runRules(STATE_RULES, {
      domain,
      state,
      readError,
      storeDescription: deps.state.description,
      sesSelectors: sesSelectors(ses),
      now: deps.now,
    }),
  );
  const active = state?.keys.find((k) => k.status === 'active');
  for (const region of target.regions) {
    findings.push(
      ...runRules([...SES_RULES, ...MAIL_FROM_RULES], {
        domain,
        region,
        read: ses[region] ?? { ok: false, error: 'not read' },
        activeSelector: active?.selector,
        switchingSelectors: (state?.keys ?? [])
          .filter((k) => k.status === 'verified' && k.switchedAt !== undefined)
          .map((k) => k.selector),
        stateKnown: (state?.keys.length ?? 0) > 0,
        createIdentity: target.createIdentity,
        easyDkimTakeover: state?.easyDkimTakeover === true,
        now: deps.now,
      }),
    );
  }

  // ---- gather: DNS ----
  // Delegated selectors: the TXT record lives in the delegated zone; check it there.
  const expected = expectedRecords(domain, state, ses).map((r) =>
    target.delegatedTo === undefined ? r : { ...r, name: `${r.selector}.${target.delegatedTo}` },
  );
  const zone = await deps.dns.zoneOf(domain);
  const lookups = new Map<string, Promise<LookupAnswer[]>>();
  const lookup = (name: string): Promise<LookupAnswer[]> => {
    let answers = lookups.get(name);
    if (answers === undefined) {
      answers = deps.dns.lookupTxt(name);
      lookups.set(name, answers);
    }
    return answers;
  };
  const recordSummaries: RecordSummary[] = [];
  await Promise.all(
    expected.map(async (record) => {
      const strayNames: Array<{ kind: StrayKind; name: string }> = [
        ...new Set([domain, ...(zone === undefined ? [] : [zone])]),
      ].map((origin) => ({ kind: 'doubled' as const, name: `${record.name}.${origin}` }));
      if (target.delegatedTo !== undefined) strayNames.length = 0;
      else strayNames.push({ kind: 'no-domainkey', name: `${record.selector}.${domain}` });
      const [answers, ...strays] = await Promise.all([
        lookup(record.name),
        ...strayNames.map((s) => lookup(s.name)),
      ]);
      const summary: RecordSummary = {
        selector: record.selector,
        role: record.role,
        name: record.name,
        sesRegions: record.sesRegions,
        nameservers: [],
      };
      for (const answer of answers ?? []) {
        const analysis = analyzeAnswer(answer, record.publicKey);
        const before = findings.length;
        findings.push(
          ...runRules(RECORD_RULES, {
            domain,
            record,
            answer,
            analysis,
            graceDays: target.graceDays,
            ttl: target.ttl,
            delegatedTo: target.delegatedTo,
          }),
        );
        summary.nameservers.push(summarize(answer, findings.slice(before)));
      }
      strays.forEach((strayAnswers, i) => {
        const kind = strayNames[i]?.kind as StrayKind;
        for (const answer of strayAnswers) {
          const right = (answers ?? []).find((a) => a.nameserver === answer.nameserver);
          findings.push(
            ...runRules(STRAY_NAME_RULES, {
              domain,
              record,
              kind,
              answer,
              rightNameServed: right?.txt.some((r) => claimsDkim(r.strings.join(''))) === true,
              ttl: target.ttl,
            }),
          );
        }
      });
      recordSummaries.push(summary);
    }),
  );
  await Promise.all(
    (target.delegationCnames ?? []).map(async (cname) => {
      const inUse = expected.some(
        (r) => r.selector === cname.selector && ['active', 'switching', 'ses'].includes(r.role),
      );
      for (const answer of await lookup(cname.name)) {
        findings.push(...runRules(DELEGATION_RULES, { domain, cname, answer, inUse }));
      }
    }),
  );
  recordSummaries.sort(
    (a, b) =>
      expected.findIndex((e) => e.selector === a.selector) -
      expected.findIndex((e) => e.selector === b.selector),
  );

  // ---- custom MAIL FROM: what keeps DMARC passing through a switch gap ----
  const mailFromUses: MailFromUse[] = target.regions.flatMap((region) => {
    const read = ses[region];
    return read?.ok && read.view.exists ? [mailFromUse(read.view)] : [];
  });
  const mailFrom = await checkMailFrom(domain, mailFromUses, {
    lookupMx: (name) => deps.dns.lookupMx(name),
    lookupTxt: lookup,
  });
  findings.push(...mailFrom.findings);

  // ---- DMARC ----
  const dmarcName = `_dmarc.${domain}`;
  const dmarcAnswers = await lookup(dmarcName);
  const ownDmarc = dmarcAnswers.some((a) => a.txt.some((r) => claimsDmarc(r.strings.join(''))));
  const orgAnswers =
    !ownDmarc && zone !== undefined && zone !== domain && zone.includes('.')
      ? await lookup(`_dmarc.${zone}`)
      : undefined;
  for (const answer of dmarcAnswers) {
    findings.push(
      ...runRules(DMARC_RULES, {
        domain,
        answer,
        inherited:
          orgAnswers === undefined
            ? undefined
            : (orgAnswers.find((a) => a.nameserver === answer.nameserver) ?? orgAnswers[0]),
        ttl: 3600,
        mailFrom: mailFromUses,
      }),
    );
  }
  const dmarc = dmarcSummary(dmarcAnswers, orgAnswers);

  const merged = mergeFindings(domain, findings);
  const counts = emptyCounts();
  for (const f of merged) counts[f.severity]++;
  return {
    domain,
    regions: [...target.regions],
    healthy: counts.error === 0 && counts.warning === 0,
    counts,
    zone,
    ses: target.regions.map((region) => sesSummary(region, ses[region])),
    records: recordSummaries,
    dmarc,
    mailFrom: mailFrom.summaries,
    findings: merged,
  };
}

function runRules<C>(rules: readonly Rule<C>[], context: C): RuleFinding[] {
  return rules.flatMap((rule) => rule.check(context));
}

/**
 * One finding per distinct observation: the same thing seen on several nameservers is one
 * finding listing them all. Errors first.
 */
export function mergeFindings(domain: string, findings: readonly RuleFinding[]): Finding[] {
  const merged = new Map<string, Finding>();
  for (const f of findings) {
    const key = JSON.stringify([f.code, f.severity, f.region, f.selector, f.name, f.seen, f.fix]);
    const existing = merged.get(key);
    if (existing !== undefined) {
      if (f.nameserver !== undefined && !existing.nameservers.includes(f.nameserver))
        existing.nameservers.push(f.nameserver);
      continue;
    }
    merged.set(key, {
      code: f.code,
      severity: f.severity,
      domain,
      ...(f.region === undefined ? {} : { region: f.region }),
      ...(f.selector === undefined ? {} : { selector: f.selector }),
      ...(f.name === undefined ? {} : { name: f.name }),
      nameservers: f.nameserver === undefined ? [] : [f.nameserver],
      seen: f.seen,
      fix: f.fix,
    });
  }
  return [...merged.values()].sort(bySeverity);
}

function emptyCounts(): Record<Severity, number> {
  return { error: 0, warning: 0, info: 0 };
}

function summarize(
  answer: LookupAnswer,
  findings: readonly RuleFinding[],
): RecordSummary['nameservers'][number] {
  const ttl = answer.txt[0]?.ttl;
  const state =
    answer.outcome === 'failed'
      ? 'failed'
      : findings.some((f) => f.code === 'DNS_RECORD_MISSING')
        ? 'missing'
        : findings.some((f) => f.severity !== 'info')
          ? 'wrong'
          : 'ok';
  return { nameserver: answer.nameserver, state, ...(ttl === undefined ? {} : { ttl }) };
}

function sesSummary(region: string, read: SesRead | undefined): SesSummary {
  if (read === undefined) return { region, error: 'not read' };
  if (!read.ok) return { region, error: read.error };
  const v = read.view;
  const summary: SesSummary = { region, exists: v.exists };
  if (!v.exists) return summary;
  const optional: Array<[keyof SesSummary, unknown]> = [
    ['origin', v.origin],
    ['selector', v.tokens[0]],
    ['status', v.status],
    ['signingEnabled', v.signingEnabled],
    ['verifiedForSending', v.verifiedForSending],
    ['verificationStatus', v.verificationStatus],
    ['verificationError', v.verificationError],
    ['lastCheckedAt', v.lastCheckedAt],
    ['lastSuccessAt', v.lastSuccessAt],
  ];
  for (const [key, value] of optional) if (value !== undefined) Object.assign(summary, { [key]: value });
  return summary;
}

function dmarcSummary(
  own: readonly LookupAnswer[],
  org: readonly LookupAnswer[] | undefined,
): DmarcSummary | undefined {
  const first = (answers: readonly LookupAnswer[]): { name: string; record: string } | undefined => {
    for (const a of answers) {
      const record = a.txt.map((r) => r.strings.join('')).find(claimsDmarc);
      if (record !== undefined) return { name: a.name, record };
    }
    return undefined;
  };
  const mine = first(own);
  if (mine !== undefined) return { ...mine, inherited: false };
  const inherited = org === undefined ? undefined : first(org);
  return inherited === undefined ? undefined : { ...inherited, inherited: true };
}

export type { ExpectedRecord };
