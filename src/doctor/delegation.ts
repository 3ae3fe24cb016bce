import type { ResolvedDomain } from '../config/load.js';

/**
 * The zone a domain's selectors are delegated to by CNAME (Debian dkim-rotate style: the
 * mail domain CNAMEs a fixed ring of selectors once to a zone byodkim controls), or
 * undefined when TXT records are expected at the selector names.
 *
 * Hook for the delegated-zone feature: the config has no delegation setting yet, so every
 * domain expects TXT records and a CNAME at a selector is reported as
 * DNS_CNAME_INSTEAD_OF_TXT. When the setting lands, return its zone here; the CNAME rule
 * then stays silent and the delegated-zone checks (CNAME target inside the zone, TXT
 * served there) take over.
 */
export function delegatedZoneOf(_domain: ResolvedDomain): string | undefined {
  return undefined;
}
