/**
 * DMARC records (RFC 7489 §6.3–6.4), read as a receiver does. DKIM is what lets mail sent
 * through SES pass DMARC for the domain (SES signs with `d=<identity>`; SPF aligns only
 * with a custom MAIL FROM), so the doctor shows the policy that DKIM is judged against.
 */

export type DmarcDisposition = 'none' | 'quarantine' | 'reject';

export interface DmarcPolicy {
  p: DmarcDisposition;
  /** Policy for subdomains; `p` when absent. */
  sp: DmarcDisposition | undefined;
  /** Percentage of failing mail the policy applies to (default 100). */
  pct: number;
  /** DKIM alignment: `r` relaxed (organizational domains equal), `s` strict (domains equal). */
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  rua: string | undefined;
  tags: Record<string, string>;
}

export type DmarcProblem =
  | 'NOT_FIRST'
  | 'MALFORMED_TAG_LIST'
  | 'MISSING_P'
  | 'BAD_P'
  | 'BAD_SP'
  | 'BAD_PCT'
  | 'BAD_ADKIM'
  | 'BAD_ASPF';

export type DmarcParse =
  | { ok: true; policy: DmarcPolicy }
  | { ok: false; problem: DmarcProblem; message: string };

const DISPOSITIONS: readonly string[] = ['none', 'quarantine', 'reject'];

/** A TXT value that receivers take as a DMARC record: it starts with `v=DMARC1` (§6.6.3 step 3). */
export function isDmarcRecord(value: string): boolean {
  return /^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)/.test(value);
}

/** A TXT value that was meant as a DMARC record, even if receivers will discard it. */
export function claimsDmarc(value: string): boolean {
  return /v\s*=\s*DMARC1/i.test(value);
}

/**
 * @example
 * ```ts
 * parseDmarc('v=DMARC1; p=reject; adkim=s'); // { ok: true, policy: { p: 'reject', adkim: 's', pct: 100, ... } }
 * parseDmarc('v=DMARC1; p=block');           // { ok: false, problem: 'BAD_P', ... }
 * ```
 */
export function parseDmarc(value: string): DmarcParse {
  if (!isDmarcRecord(value)) {
    return {
      ok: false,
      problem: 'NOT_FIRST',
      message: 'the record does not start with exactly "v=DMARC1", so receivers discard it',
    };
  }
  const tags: Record<string, string> = {};
  const specs = value.split(';');
  if (specs.length > 1 && (specs.at(-1) ?? '').trim() === '') specs.pop();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || !/^[A-Za-z][A-Za-z0-9]*$/.test(name)) {
      return {
        ok: false,
        problem: 'MALFORMED_TAG_LIST',
        message: `"${spec.trim()}" is not a tag=value pair`,
      };
    }
    const key = name.toLowerCase();
    if (!(key in tags)) tags[key] = spec.slice(eq + 1).trim();
  }
  const p = tags.p?.toLowerCase();
  if (p === undefined) return { ok: false, problem: 'MISSING_P', message: 'the record has no p= tag' };
  if (!DISPOSITIONS.includes(p)) {
    return { ok: false, problem: 'BAD_P', message: `p=${tags.p} is not none, quarantine or reject` };
  }
  const sp = tags.sp?.toLowerCase();
  if (sp !== undefined && !DISPOSITIONS.includes(sp)) {
    return { ok: false, problem: 'BAD_SP', message: `sp=${tags.sp} is not none, quarantine or reject` };
  }
  let pct = 100;
  if (tags.pct !== undefined) {
    pct = /^\d{1,3}$/.test(tags.pct) ? Number(tags.pct) : Number.NaN;
    if (!(pct >= 0 && pct <= 100)) {
      return {
        ok: false,
        problem: 'BAD_PCT',
        message: `pct=${tags.pct} is not a whole number from 0 to 100`,
      };
    }
  }
  const adkim = (tags.adkim ?? 'r').toLowerCase();
  if (adkim !== 'r' && adkim !== 's') {
    return { ok: false, problem: 'BAD_ADKIM', message: `adkim=${tags.adkim} is not r or s` };
  }
  const aspf = (tags.aspf ?? 'r').toLowerCase();
  if (aspf !== 'r' && aspf !== 's') {
    return { ok: false, problem: 'BAD_ASPF', message: `aspf=${tags.aspf} is not r or s` };
  }
  return {
    ok: true,
    policy: {
      p: p as DmarcDisposition,
      sp: sp as DmarcDisposition | undefined,
      pct,
      adkim,
      aspf,
      rua: tags.rua,
      tags,
    },
  };
}

/** `p=reject sp=quarantine pct=100 adkim=s aspf=r`. */
export function describePolicy(policy: DmarcPolicy): string {
  return [
    `p=${policy.p}`,
    `sp=${policy.sp ?? `${policy.p} (from p)`}`,
    `pct=${policy.pct}`,
    `adkim=${policy.adkim}`,
    `aspf=${policy.aspf}`,
  ].join(' ');
}
