import { abbreviateValue } from '../../dkim-value.js';
import type { Rule } from '../../finding.js';
import { roleSeverity } from '../../fix.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/**
 * The value was split into strings wrongly: chunks pasted with their quotes into one
 * string (`…AB" "CD…` inside `p=`), or a quote left at a string boundary. The key no
 * longer decodes.
 */
export const splitWrong: Rule<RecordContext> = {
  id: 'dns-key-split-wrong',
  codes: [
    {
      code: 'DNS_KEY_SPLIT_WRONG',
      severity: ['error', 'warning'],
      summary:
        'The value was split wrongly: chunks pasted with their quotes into one string, or a quote at a chunk boundary.',
    },
  ],
  check(c) {
    return judgedValues(c).flatMap((a) => {
      const quoteAt = a.boundaryDefects.filter((d) => d.what === 'quote');
      const spaceAt = a.usableKey ? [] : a.boundaryDefects.filter((d) => d.what === 'whitespace');
      if (!a.pastedChunks && quoteAt.length === 0 && spaceAt.length === 0) return [];
      const what = [
        a.pastedChunks ? 'zone-file chunks pasted with their quotes into one string (`" "` inside p=)' : '',
        ...quoteAt.map(
          (d) => `a quote at the boundary of strings ${d.index + 1} and ${d.index + 2} (byte ${d.offset})`,
        ),
        ...spaceAt.map(
          (d) => `whitespace at the boundary of strings ${d.index + 1} and ${d.index + 2} (byte ${d.offset})`,
        ),
      ].filter(Boolean);
      return [
        recordFinding(
          c,
          'DNS_KEY_SPLIT_WRONG',
          roleSeverity(c.record.role),
          `serves ${abbreviateValue(a.value)} in ${a.record.strings.length} string(s): ${what.join('; ')}`,
          `${replaceInstruction(c)}; in a DNS console that takes the value as one field, paste the strings without their quotes, or the whole value unsplit if it splits long values itself`,
        ),
      ];
    });
  },
};
