import type { DomainSpec, Observation, SesObservation } from '../domain/lifecycle.js';
import { dkimRecordName } from '../domain/record.js';
import type { DomainState, KeyEntry } from '../domain/state.js';
import { ByodkimError, describeError, ServiceError } from '../errors.js';
import type { DnsProbe, ProbeResult, SigningService } from '../ports.js';

/** Keys whose record byodkim needs to see: everything published and not yet gone for good. */
export function keysToProbe(state: DomainState): KeyEntry[] {
  return state.keys.filter(
    (k) => k.status !== 'staged' && k.status !== 'retired' && k.status !== 'revoked' && !k.destroyedAt,
  );
}

/** A failure that will not go away by waiting: anything but a transient service error. */
function needsPerson(error: unknown): boolean {
  return error instanceof ByodkimError && !(error instanceof ServiceError && error.retryable);
}

/**
 * gather: one read of SES per region (the only SES cost of a pass when nothing is due) and
 * one probe of every authoritative nameserver per record that matters. Failures become
 * part of the observation; decide treats an unreadable region or record as "not ready".
 */
export async function gather(
  spec: DomainSpec,
  state: DomainState,
  ports: { signing: SigningService; probe: DnsProbe },
  now: Date,
): Promise<Observation> {
  const ses: Record<string, SesObservation> = {};
  const dns: Record<string, ProbeResult> = {};
  await Promise.all([
    ...spec.regions.map(async (region) => {
      try {
        ses[region] = { ok: true, view: await ports.signing.describe(spec.domain, region) };
      } catch (error) {
        // Credentials, access, an endpoint that refuses: no pass can succeed until a person
        // fixes it, so the domain fails here, before any side effect (exit 1, not 3).
        if (needsPerson(error)) throw error;
        ses[region] = { ok: false, error: describeError(error) };
      }
    }),
    ...keysToProbe(state).map(async (key) => {
      const name = dkimRecordName(key.selector, spec.domain);
      try {
        dns[key.selector] = await ports.probe.probe(name, key.publicKey);
      } catch (error) {
        dns[key.selector] = {
          name,
          answers: [
            {
              nameserver: '(probe)',
              address: '',
              outcome: 'error',
              served: [],
              detail: describeError(error),
            },
          ],
        };
      }
    }),
  ]);
  return { now, ses, dns };
}
