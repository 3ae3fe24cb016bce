/**
 * Shared wording for findings: the record to publish (as a zone-file line anyone can paste
 * into BIND, Knot or NSD, or read field by field into a DNS console), and how much a
 * problem matters for a key in a given role.
 */
import { buildDkimRecordValue, quoteTxtChunk, splitTxtValue } from '../domain/record.js';
import type { Severity } from './finding.js';
import type { ExpectedRecord, KeyRole } from './observation.js';

/** `<name>. <ttl> IN TXT ( "…" "…" )`: the value split into ≤255-byte character-strings. */
export function zoneLine(name: string, value: string, ttl: number): string {
  return `${name}. ${ttl} IN TXT ( ${splitTxtValue(value).map(quoteTxtChunk).join(' ')} )`;
}

/**
 * The instruction to publish a selector's record: the exact line when byodkim knows the
 * key, otherwise where the key must come from.
 */
export function publishInstruction(record: ExpectedRecord, ttl: number): string {
  if (record.publicKey === undefined) {
    return (
      `publish the public key of the private key SES holds for ${record.selector} as one TXT record at ` +
      `${record.name} (v=DKIM1; k=rsa; p=<base64 key>, split into strings of at most 255 characters); ` +
      `byodkim does not know that key: take it over with "byodkim adopt --key-file <pem>" to get the exact record`
    );
  }
  return `publish \`${zoneLine(record.name, buildDkimRecordValue(record.publicKey), ttl)}\` at ${record.name}`;
}

/** The severity of a broken record for a key in this role (see {@link KeyRole}). */
export function roleSeverity(role: KeyRole): Severity {
  return role === 'active' || role === 'switching' || role === 'ses' ? 'error' : 'warning';
}

const ROLE_WORDS: Record<KeyRole, string> = {
  active: 'the active key',
  switching: 'the key SES is being switched to',
  ses: 'the selector SES signs with',
  standby: 'a standby key',
  pending: 'a newly published key',
  retiring: 'a retiring key (still in its grace period)',
};

/** `the active key` etc., for messages. */
export function roleWords(record: ExpectedRecord): string {
  const regions = record.sesRegions.length > 0 ? `, used by SES in ${record.sesRegions.join(', ')}` : '';
  return `${ROLE_WORDS[record.role]}${regions}`;
}

/** `1 day`, `30 days`, `2 hours`, `45 s` for TTLs and periods. */
export function humanSeconds(seconds: number): string {
  const units: Array<[number, string]> = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} s`;
}

/** `2026-01-02T03:04:05Z (3 hours ago)`; `never` when undefined. */
export function describeTime(iso: string | undefined, now: Date): string {
  if (iso === undefined) return 'never';
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const ago =
    ms < 0
      ? 'in the future'
      : ms < 60_000
        ? 'just now'
        : ms < 3_600_000
          ? `${Math.floor(ms / 60_000)} min ago`
          : ms < 86_400_000
            ? `${Math.floor(ms / 3_600_000)} h ago`
            : `${Math.floor(ms / 86_400_000)} d ago`;
  return `${iso.replace(/\.\d{3}Z$/, 'Z')} (${ago})`;
}
