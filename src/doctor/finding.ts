/**
 * What `byodkim doctor` reports: findings with a stable code, a severity, what was seen
 * (and on which nameserver), and the fix. Checks are small pure rules over plain data
 * (cdk-nag style): a rule returns no finding when the data is compliant.
 */

/**
 * - `error`: mail is (or will be) unsigned or failing DKIM/DMARC now; fix it.
 * - `warning`: works today but breaks a rotation, a fallback or a receiver later.
 * - `info`: context an operator wants to see (policy in force, work in progress).
 */
export type Severity = 'error' | 'warning' | 'info';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

/** A finding as a rule returns it; the runner adds the domain and merges nameservers. */
export interface RuleFinding {
  /** Stable, machine-readable, e.g. `DNS_PLACEHOLDER_KEY`. Documented in docs/doctor.md. */
  code: string;
  severity: Severity;
  /** What was observed, without the nameserver (that goes in `nameserver`). */
  seen: string;
  /** A concrete instruction: the record to publish, the record to remove, the command to run. */
  fix: string;
  region?: string;
  selector?: string;
  /** The DNS name the finding is about. */
  name?: string;
  /** `ns1.example.com (192.0.2.1)`: who served what was seen. */
  nameserver?: string;
}

/** A finding in the report: one per distinct observation, with every nameserver that showed it. */
export interface Finding {
  code: string;
  severity: Severity;
  domain: string;
  region?: string;
  selector?: string;
  name?: string;
  /** Nameservers that served what was seen (empty for SES and state findings). */
  nameservers: string[];
  seen: string;
  fix: string;
}

/**
 * One check. `codes` lists every code the rule can emit, with its severity, so the
 * documentation and the tests can be held to the rules.
 */
export interface Rule<Context> {
  readonly id: string;
  readonly codes: readonly CodeInfo[];
  check(context: Context): RuleFinding[];
}

export interface CodeInfo {
  code: string;
  /** The severity, or the severities when it depends on the record's role (see docs). */
  severity: Severity | readonly Severity[];
  summary: string;
}

/** Orders findings: errors first, then warnings, then info; stable otherwise. */
export function bySeverity(a: { severity: Severity }, b: { severity: Severity }): number {
  return SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity);
}
