import type { ResolvedDomain } from '../config/load.js';
import type { DomainSpec } from '../domain/lifecycle.js';
import type { DnsPublisher } from '../ports.js';

/** The core's view of one configured domain. */
export function domainSpec(domain: ResolvedDomain, publisher: Pick<DnsPublisher, 'mode'>): DomainSpec {
  return {
    domain: domain.domain,
    regions: domain.regions,
    policy: domain.policy,
    dnsMode: publisher.mode,
    ttl: domain.dns.ttl,
    createIdentity: domain.createIdentity,
    selectorPrefix: domain.selectorPrefix,
    ...(domain.delegation ? { delegation: domain.delegation } : {}),
  };
}
