import type { Rule } from '../../finding.js';
import type { RecordContext } from '../context.js';
import { recordFinding } from './common.js';

/** A nameserver that does not answer for the zone, or nameservers that cannot be found at all. */
export const nameserverFailed: Rule<RecordContext> = {
  id: 'dns-nameserver-failed',
  codes: [
    {
      code: 'DNS_NAMESERVER_FAILED',
      severity: 'error',
      summary:
        'An authoritative nameserver answered SERVFAIL/REFUSED, not authoritatively (lame), or not at all.',
    },
    {
      code: 'DNS_DISCOVERY_FAILED',
      severity: 'error',
      summary: "The zone's nameservers could not be found (SOA/NS lookups through the resolvers failed).",
    },
  ],
  check(c) {
    const failure = c.answer.failure;
    if (c.answer.outcome !== 'failed' || failure === undefined) return [];
    if (failure.kind === 'discovery') {
      return [
        recordFinding(
          c,
          'DNS_DISCOVERY_FAILED',
          'error',
          `cannot find who is authoritative for ${c.record.name}: ${failure.detail}`,
          'check the resolvers (probe.resolvers) and the delegation of the zone (NS records at the parent), or list the nameservers in probe.nameservers',
        ),
      ];
    }
    return [
      recordFinding(
        c,
        'DNS_NAMESERVER_FAILED',
        'error',
        `no usable answer for ${c.record.name}: ${failure.detail}`,
        failure.kind === 'lame'
          ? `make this server authoritative for the zone of ${c.record.name} (load the zone, or remove it from the zone's NS set at the parent)`
          : `make this nameserver answer for the zone of ${c.record.name} (zone loaded, transfers from the primary working, reachable on UDP and TCP port 53); receivers and SES that ask it get no key`,
      ),
    ];
  },
};
