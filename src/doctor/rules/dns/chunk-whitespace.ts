import type { Rule } from '../../finding.js';
import type { RecordContext } from '../context.js';
import { judgedValues, recordFinding, replaceInstruction } from './common.js';

/**
 * Whitespace at a string boundary inside `p=`: RFC 6376 verifiers fold it away, so the
 * key still works, but it is one strict parser (or one re-import by a DNS tool) away from
 * failing.
 */
export const chunkWhitespace: Rule<RecordContext> = {
  id: 'dns-chunk-whitespace',
  codes: [
    {
      code: 'DNS_CHUNK_WHITESPACE',
      severity: 'warning',
      summary: 'Whitespace at a chunk boundary inside p= (tolerated by RFC 6376 verifiers, fragile).',
    },
  ],
  check(c) {
    return judgedValues(c).flatMap((a) => {
      const spaces = a.boundaryDefects.filter((d) => d.what === 'whitespace');
      if (!a.usableKey || spaces.length === 0) return [];
      return [
        recordFinding(
          c,
          'DNS_CHUNK_WHITESPACE',
          'warning',
          `whitespace inside p= at the boundary of strings ${spaces.map((d) => `${d.index + 1}/${d.index + 2} (byte ${d.offset})`).join(', ')}: the chunks were split with a space kept at an edge`,
          replaceInstruction(c),
        ),
      ];
    });
  },
};
