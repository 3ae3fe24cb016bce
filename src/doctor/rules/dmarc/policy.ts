import { describePolicy } from '../../dmarc.js';
import type { Rule } from '../../finding.js';
import type { DmarcContext } from '../context.js';
import { dmarcFinding, effectiveDmarc } from './common.js';

/** The DMARC policy in force, shown: p, sp, pct and the alignment modes. */
export const dmarcPolicy: Rule<DmarcContext> = {
  id: 'dmarc-policy',
  codes: [
    {
      code: 'DMARC_POLICY',
      severity: 'info',
      summary:
        'The DMARC policy in force (p, sp, pct, adkim, aspf), own or inherited from the organizational domain.',
    },
  ],
  check(c) {
    const found = effectiveDmarc(c);
    if (found === undefined || !found.record.parse.ok) return [];
    const policy = found.record.parse.policy;
    const applied = found.inherited ? (policy.sp ?? policy.p) : policy.p;
    const notes = [
      found.inherited
        ? `inherited from ${found.name}: sp=${policy.sp ?? policy.p} applies to ${c.domain}`
        : '',
      applied === 'none' ? 'p=none only monitors: failing mail is delivered as usual' : '',
      policy.pct < 100 ? `pct=${policy.pct}: the policy applies to ${policy.pct}% of failing mail` : '',
    ].filter(Boolean);
    return [
      dmarcFinding(
        c,
        'DMARC_POLICY',
        'info',
        `${JSON.stringify(found.record.value)}: ${describePolicy(policy)}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
        applied === 'none' || policy.pct < 100
          ? 'once the aggregate reports show SES mail passing DKIM, tighten to p=quarantine, then p=reject, with pct=100'
          : 'none needed',
        found.name,
      ),
    ];
  },
};
