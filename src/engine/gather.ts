import { type DomainSpec, healthyAtHealthRead, sesReadDue } from '../domain/lifecycle/index.js';
import type {
  Observation,
  ProbeResult,
  SesCallPriority,
  SesHealthView,
  SesObservation,
  VaultObservation,
  VaultOrphan,
} from '../domain/observation.js';
import { dkimRecordName } from '../domain/record.js';
import type { DomainState, KeyEntry } from '../domain/state.js';
import { ByodkimError, describeError, isOverBudget, ServiceError } from '../errors.js';
import type { CanaryPorts, DnsProbe, KeyVault, SigningService } from '../ports.js';
import { readCanaries } from './canary-read.js';

/** Keys whose record byodkim needs to see: everything published and not yet gone for good. */
export function keysToProbe(state: DomainState): KeyEntry[] {
  return state.keys.filter(
    (k) => k.status !== 'staged' && k.status !== 'retired' && k.status !== 'revoked' && !k.destroyedAt,
  );
}

export interface GatherPorts {
  signing: SigningService;
  probe: DnsProbe;
  vault: KeyVault;
  /** The domain's canary inbox and judge, when it has a canary. */
  canary?: CanaryPorts | undefined;
}

/** A failure that will not go away by waiting: anything but a transient service error. */
function needsPerson(error: unknown): boolean {
  return error instanceof ByodkimError && !(error instanceof ServiceError && error.retryable);
}

/**
 * gather: one probe of every authoritative nameserver per record that matters, the vault's
 * list of this domain's keys (with the public half of any the state does not name), and —
 * only when a read can change a decision (sesReadDue) — one read of SES per region, at the
 * priority the decision gives it. The scheduled health read goes first through the batched
 * SES v1 read where the SigningService has one; only a domain it does not show healthy in
 * every region is read again with v2, in the same pass. Failures become part of the
 * observation; decide treats an unreadable region or record as "not ready".
 */
export interface GatherOptions {
  /** Read SES even when nothing is due (`status --refresh`, `adopt`). */
  forceSesRead?: boolean;
}

export async function gather(
  spec: DomainSpec,
  state: DomainState,
  ports: GatherPorts,
  now: Date,
  options: GatherOptions = {},
): Promise<Observation> {
  const ses: Record<string, SesObservation> = {};
  const dns: Record<string, ProbeResult> = {};
  let vault: VaultObservation | undefined;
  let vaultError: string | undefined;
  const probe = async (selector: string, publicKey: string) => {
    const name = dkimRecordName(selector, spec.domain);
    try {
      dns[selector] = await ports.probe.probe(name, publicKey);
    } catch (error) {
      dns[selector] = {
        name,
        answers: [
          { nameserver: '(probe)', address: '', outcome: 'error', served: [], detail: describeError(error) },
        ],
      };
    }
  };
  // DNS and the vault first: they are cheap, and they tell whether SES must be read at all.
  // The canary inbox is no SES control-plane call: it is read on every pass that has one.
  let canary: Observation['canary'];
  await Promise.all([
    (async () => {
      if (spec.canary && ports.canary) canary = await readCanaries(spec.domain, ports.canary, now);
    })(),
    ...keysToProbe(state).map((key) => probe(key.selector, key.publicKey)),
    (async () => {
      const read = await observeVault(spec.domain, state, ports.vault);
      if ('unlisted' in read) {
        vaultError = read.unlisted;
        return;
      }
      vault = read;
      // An orphan's record is probed like any other, so phase 8 removes it only if it is there.
      await Promise.all(vault.orphans.map((o) => (o.ok ? probe(o.selector, o.publicKey) : undefined)));
    })(),
  ]);
  const read = sesReadDue(
    state,
    spec,
    { now, dns, ...(vault ? { vault } : {}) },
    { alignedHealthReads: ports.signing.readHealth !== undefined },
  );
  const extra = {
    ...(vault ? { vault } : {}),
    ...(vaultError ? { vaultError } : {}),
    ...(canary ? { canary } : {}),
  };
  if (!read.due && !options.forceSesRead) return { now, ses, dns, ...extra, sesNotRead: read.why };
  let priority: SesCallPriority = options.forceSesRead ? 'transition' : read.priority;
  if (read.healthOnly && !options.forceSesRead && ports.signing.readHealth) {
    const health = await healthRead(spec, state, ports.signing);
    if (health) {
      const sesNotRead = 'healthy at the batched health read (SES v1 names no selector)';
      return { now, ses, dns, ...extra, sesNotRead, sesHealth: health };
    }
    priority = 'transition'; // not healthy, or not readable: a v2 read decides
  }
  await Promise.all(
    spec.regions.map(async (region) => {
      try {
        ses[region] = { ok: true, view: await ports.signing.describe(spec.domain, region, { priority }) };
      } catch (error) {
        // Credentials, access, an endpoint that refuses: no pass can succeed until a person
        // fixes it, so the domain fails here, before any side effect (exit 1, not 3).
        if (needsPerson(error)) throw error;
        ses[region] = {
          ok: false,
          error: describeError(error),
          ...(isOverBudget(error) ? { overBudget: true } : {}),
        };
      }
    }),
  );
  return { now, ses, dns, ...extra };
}

/** The batched health read of every region, when it shows the domain healthy everywhere; else undefined. */
async function healthRead(
  spec: DomainSpec,
  state: DomainState,
  signing: SigningService,
): Promise<Record<string, SesHealthView> | undefined> {
  const active = state.keys.find((k) => k.status === 'active');
  const readHealth = signing.readHealth?.bind(signing);
  if (!active || !readHealth) return undefined;
  try {
    const views = await Promise.all(spec.regions.map((region) => readHealth(spec.domain, region)));
    if (!views.every((view) => healthyAtHealthRead(view, active.selector))) return undefined;
    return Object.fromEntries(views.map((view) => [view.region, view]));
  } catch {
    return undefined;
  }
}

/**
 * The vault's names for the domain, and the public half of each key no state entry names
 * (its record, if any, is probed like any other so phase 8 can remove it). A vault that
 * cannot be listed for a while leaves the observation without it, and says why: decide then
 * names no new key.
 */
export async function observeVault(
  domain: string,
  state: DomainState,
  vault: KeyVault,
): Promise<VaultObservation | { unlisted: string }> {
  let selectors: string[];
  try {
    selectors = await vault.list(domain);
  } catch (error) {
    // Credentials or an endpoint that refuses fail the domain; a slow or busy vault is waited on.
    if (needsPerson(error)) throw error;
    return { unlisted: describeError(error) };
  }
  const named = new Set(state.keys.map((k) => k.selector));
  const orphans = await Promise.all(
    selectors
      .filter((s) => !named.has(s))
      .map(async (selector): Promise<VaultOrphan> => {
        try {
          const key = await vault.get(domain, selector);
          if (!key) return { selector, ok: false, error: 'listed but not readable' };
          return {
            selector,
            ok: true,
            publicKey: key.publicKey,
            bits: key.bits,
            vaultRef: `${vault.description} (${selector})`,
          };
        } catch (error) {
          return { selector, ok: false, error: describeError(error) };
        }
      }),
  );
  return { selectors, orphans };
}
