import { claimsDkim, describeStrings } from '../../dkim-value.js';
import type { RuleFinding } from '../../finding.js';
import { publishInstruction, roleSeverity } from '../../fix.js';
import type { StrayNameContext } from '../context.js';

/** The DKIM-looking TXT records (or the CNAME) served at a stray name, described; undefined if none. */
export function strayRecords(c: StrayNameContext): string | undefined {
  if (c.answer.outcome !== 'answer') return undefined;
  const dkim = c.answer.txt.filter((r) => claimsDkim(r.strings.join('')));
  if (dkim.length > 0)
    return dkim
      .map((r) => describeStrings(r.strings, 40))
      .sort()
      .join(', ');
  const cname = c.answer.cnames[0];
  return cname === undefined ? undefined : `a CNAME to ${cname.target}`;
}

/** A finding about a record at a stray name: an error while the right name has nothing. */
export function strayFinding(c: StrayNameContext, code: string, seen: string, cause: string): RuleFinding {
  return {
    code,
    severity: c.rightNameServed ? 'warning' : roleSeverity(c.record.role),
    selector: c.record.selector,
    name: c.answer.name,
    nameserver: c.answer.nameserver,
    seen,
    fix: c.rightNameServed
      ? `remove the stray record at ${c.answer.name} (${cause}); the right name ${c.record.name} already has its record`
      : `remove the stray record at ${c.answer.name} and ${publishInstruction(c.record, c.ttl)} (${cause})`,
  };
}
