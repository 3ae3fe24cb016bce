import type { DkimValueAnalysis } from '../../dkim-value.js';
import type { RuleFinding, Severity } from '../../finding.js';
import { publishInstruction } from '../../fix.js';
import type { RecordContext } from '../context.js';

/** A finding about the record at `c.record.name` as `c.answer.nameserver` serves it. */
export function recordFinding(
  c: RecordContext,
  code: string,
  severity: Severity,
  seen: string,
  fix: string,
): RuleFinding {
  return {
    code,
    severity,
    selector: c.record.selector,
    name: c.record.name,
    nameserver: c.answer.nameserver,
    seen,
    fix,
  };
}

/** "replace the TXT record at … with `…`": the usual fix for a record with a bad value. */
export function replaceInstruction(c: RecordContext): string {
  return `remove the TXT record at ${c.record.name} and ${publishInstruction(c.record, c.ttl)}: one record, the value split into quoted strings of at most 255 characters with nothing added between them`;
}

/**
 * A defect that explains why a record does not hold a usable key, so the generic
 * DNS_KEY_INVALID / DNS_KEY_MISMATCH findings are not added on top of the specific one.
 */
export function hasSpecificDefect(a: DkimValueAnalysis): boolean {
  return (
    a.placeholder ||
    a.revoked ||
    a.truncated !== undefined ||
    a.pastedChunks ||
    a.boundaryDefects.some((d) => d.what === 'quote') ||
    a.strayQuotes > 0 ||
    a.backslashes > 0
  );
}

/** The DKIM records whose values the value rules judge (none when the key is split over records). */
export function judgedValues(c: RecordContext): DkimValueAnalysis[] {
  if (c.answer.outcome !== 'answer' || c.analysis.splitAcrossRecords) return [];
  return c.analysis.dkim;
}
