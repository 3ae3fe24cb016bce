import type { ResolvedDomain } from '../config/load.js';
import { delegationCnames } from '../domain/delegation.js';

/**
 * The zone a domain's selectors are delegated to by CNAME (Debian dkim-rotate style: the
 * mail domain CNAMEs a fixed ring of selectors once to a zone byodkim controls), or
 * undefined when TXT records are expected at the selector names. For a delegated domain
 * the TXT checks run on the record in that zone, and every ring CNAME is checked at the
 * mail domain (DELEGATION_CNAME_*).
 */
export function delegatedZoneOf(domain: ResolvedDomain): string | undefined {
  return domain.delegation?.zone;
}

/** The one-time CNAMEs the mail domain must serve, for a delegated domain. */
export function delegationCnamesOf(
  domain: ResolvedDomain,
): Array<{ selector: string; name: string; target: string }> {
  return domain.delegation ? delegationCnames(domain.domain, domain.selectorPrefix, domain.delegation) : [];
}
