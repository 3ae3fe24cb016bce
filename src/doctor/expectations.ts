import { keyRecordWanted } from '../domain/dns-duty.js';
import { dkimRecordName } from '../domain/record.js';
import type { DomainState, KeyEntry } from '../domain/state.js';
import type { ExpectedRecord, KeyRole, SesRead } from './observation.js';

const ROLE_ORDER: readonly KeyRole[] = ['active', 'switching', 'ses', 'standby', 'pending', 'retiring'];

/** The role of a key whose record should be served now (dns-duty.ts), or undefined. */
function roleOf(key: KeyEntry): KeyRole | undefined {
  // Once removal was asked for (or the key retired or revoked), its record is meant to go.
  if (!keyRecordWanted(key)) return undefined;
  switch (key.status) {
    case 'active':
      return 'active';
    case 'verified':
      return key.switchedAt === undefined ? 'standby' : 'switching';
    case 'staged':
    case 'published':
      return 'pending';
    case 'retiring':
    case 'failed':
      return 'retiring';
    default:
      return undefined;
  }
}

/** The selector SES holds in each region, for identities on BYODKIM. */
export function sesSelectors(ses: Readonly<Record<string, SesRead>>): Record<string, string> {
  const held: Record<string, string> = {};
  for (const [region, read] of Object.entries(ses)) {
    const view = read.ok ? read.view : undefined;
    const selector = view?.exists && view.origin === 'EXTERNAL' ? view.tokens[0] : undefined;
    if (selector !== undefined) held[region] = selector;
  }
  return held;
}

/**
 * The DKIM records that should be in DNS now, and why: state's keys by status, plus every
 * selector SES signs with (even one byodkim does not know, whose key it cannot compare).
 *
 * @example
 * ```ts
 * expectedRecords('example.com', state, { 'us-east-1': { ok: true, view } });
 * // [{ selector: 'example-20260101-1', role: 'active', publicKey: 'MIIB…', sesRegions: ['us-east-1'], ... }]
 * ```
 */
export function expectedRecords(
  domain: string,
  state: DomainState | undefined,
  ses: Readonly<Record<string, SesRead>>,
): ExpectedRecord[] {
  const held = sesSelectors(ses);
  const regionsOf = (selector: string): string[] =>
    Object.entries(held)
      .filter(([, s]) => s === selector)
      .map(([region]) => region)
      .sort();
  const records = new Map<string, ExpectedRecord>();
  for (const key of state?.keys ?? []) {
    const role = roleOf(key);
    if (role === undefined || records.has(key.selector)) continue;
    records.set(key.selector, {
      selector: key.selector,
      name: dkimRecordName(key.selector, domain),
      role,
      publicKey: key.publicKey,
      sesRegions: regionsOf(key.selector),
    });
  }
  for (const selector of new Set(Object.values(held))) {
    const existing = records.get(selector);
    if (existing !== undefined) {
      // SES signs with it, whatever state thinks of it (e.g. a standby put by hand).
      if (existing.role !== 'active' && existing.role !== 'switching') existing.role = 'ses';
      continue;
    }
    const known = state?.keys.find((k) => k.selector === selector);
    records.set(selector, {
      selector,
      name: dkimRecordName(selector, domain),
      role: 'ses',
      ...(known === undefined ? {} : { publicKey: known.publicKey }),
      sesRegions: regionsOf(selector),
    });
  }
  return [...records.values()].sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
}
