/**
 * Amazon Route 53 as an automatic DnsPublisher. One `apply()` is one ChangeBatch (atomic in
 * Route 53), then a bounded wait until the change is INSYNC on all of Route 53's servers.
 *
 * - upsert: the record set at the name becomes exactly byodkim's value (UPSERT). A DKIM
 *   selector name belongs to one key; a second TXT value there would make verifiers'
 *   results undefined (RFC 6376 §3.6.2.2), and a revocation must replace, not add.
 * - delete: only byodkim's value is removed. The current record set is read first; if it
 *   holds other values too, the batch DELETEs the set exactly as read and CREATEs it again
 *   without byodkim's value. Route 53 applies a DELETE only if it matches the current set
 *   exactly, so if anyone changed the set after it was read the whole batch fails instead
 *   of losing their change (a plain UPSERT of the remainder would overwrite it).
 *
 * TXT values are split into character-strings of at most 255 bytes, each quoted, with `"`
 * and `\` escaped and bytes outside printable ASCII written as Route 53's `\ooo` octal.
 *
 * @example
 * const dns = new Route53DnsPublisher({ hostedZoneId: 'Z123', ttl: 300 });
 * await dns.apply('example.com', [{ action: 'upsert', name: 's1._domainkey.example.com', value, selector: 's1', reason: 'publish' }]);
 */
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { splitTxtValue } from '../../domain/record.js';
import { InputError, ServiceError } from '../../errors.js';
import type { DnsPublisher, DnsRecordChange, PublishOutcome } from '../../ports.js';
import { AwsClientFactory } from './clients.js';
import { awsCall } from './errors.js';

export interface Route53DnsPublisherOptions {
  /** The hosted zone; found by the longest matching public zone name when omitted. */
  hostedZoneId?: string;
  /** TTL of records byodkim creates. Default 300. */
  ttl?: number;
  clients?: AwsClientFactory;
  client?: Route53Client;
  /** Longest wait for INSYNC. Default 10 minutes (Route 53 usually takes under a minute). */
  syncTimeoutMs?: number;
  /** First poll interval; doubles up to 15 s. Default 2 s. */
  syncPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const SERVICE = 'Route 53';
/** Route 53 is global; its API lives in us-east-1. */
const ROUTE53_REGION = 'us-east-1';
const MAX_POLL_MS = 15_000;

/** `"chunk1" "chunk2"`: a TXT value as one Route 53 ResourceRecord Value. */
export function encodeRoute53Txt(value: string): string {
  return splitTxtValue(value)
    .map((chunk) => {
      let out = '"';
      for (const byte of Buffer.from(chunk, 'utf8')) {
        if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
        else if (byte < 0x20 || byte > 0x7e) out += `\\${byte.toString(8).padStart(3, '0')}`;
        else out += String.fromCharCode(byte);
      }
      return `${out}"`;
    })
    .join(' ');
}

/** The TXT value a Route 53 ResourceRecord Value holds: its character-strings joined. */
export function decodeRoute53Txt(encoded: string): string {
  const bytes: number[] = [];
  let i = 0;
  const s = encoded;
  let quoted = false;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '"') {
      quoted = !quoted;
      i++;
    } else if (c === '\\') {
      const octal = /^[0-7]{3}/.exec(s.slice(i + 1, i + 4));
      if (octal) {
        bytes.push(Number.parseInt(octal[0], 8));
        i += 4;
      } else {
        bytes.push(...Buffer.from(s[i + 1] ?? '', 'utf8'));
        i += 2;
      }
    } else if (!quoted && /\s/.test(c)) {
      i++; // between character-strings
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
      i++;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function fqdn(name: string): string {
  return `${name.toLowerCase().replace(/\.$/, '')}.`;
}

export class Route53DnsPublisher implements DnsPublisher {
  readonly description: string;
  readonly mode = 'automatic' as const;
  readonly #hostedZoneId: string | undefined;
  readonly #ttl: number;
  readonly #clients: AwsClientFactory;
  readonly #client: Route53Client | undefined;
  readonly #syncTimeoutMs: number;
  readonly #syncPollMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #zones = new Map<string, { id: string; name: string }>();

  constructor(options: Route53DnsPublisherOptions = {}) {
    this.#hostedZoneId = options.hostedZoneId?.replace(/^\/hostedzone\//, '');
    this.#ttl = options.ttl ?? 300;
    this.#clients = options.clients ?? new AwsClientFactory();
    this.#client = options.client;
    this.#syncTimeoutMs = options.syncTimeoutMs ?? 600_000;
    this.#syncPollMs = options.syncPollMs ?? 2_000;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.description = `route53:${this.#hostedZoneId ?? 'zone by name'}`;
  }

  get #r53(): Route53Client {
    return this.#client ?? this.#clients.client('route53', ROUTE53_REGION, (c) => new Route53Client(c));
  }

  async apply(domain: string, changes: readonly DnsRecordChange[]): Promise<PublishOutcome> {
    if (changes.length === 0) return 'applied';
    const zone = await this.#zoneFor(domain, changes);
    // Fold the changes per name, in order, so the batch has one coherent change per name.
    const byName = new Map<string, DnsRecordChange[]>();
    for (const change of changes) {
      const list = byName.get(fqdn(change.name)) ?? [];
      list.push(change);
      byName.set(fqdn(change.name), list);
    }
    const batch: Change[] = [];
    for (const [name, list] of byName) {
      const current = await this.#readTxt(zone.id, name, domain);
      batch.push(...this.#changesFor(name, current, list));
    }
    if (batch.length === 0) return 'applied';
    const reasons = [...new Set(changes.map((c) => `${c.action} ${c.selector}: ${c.reason}`))].join('; ');
    const call = {
      service: SERVICE,
      operation: 'ChangeResourceRecordSets',
      region: ROUTE53_REGION,
      target: { zone: zone.id, domain },
    };
    const out = await awsCall(call, () =>
      this.#r53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          ChangeBatch: { Comment: `byodkim: ${reasons}`.slice(0, 256), Changes: batch },
        }),
      ),
    );
    const changeId = out.ChangeInfo?.Id;
    if (out.ChangeInfo?.Status !== 'INSYNC' && changeId !== undefined)
      await this.#waitInSync(changeId, zone.id, domain);
    return 'applied';
  }

  #changesFor(name: string, current: ResourceRecordSet | undefined, list: DnsRecordChange[]): Change[] {
    // Values as held now: the raw encoded strings, so values byodkim does not own are kept byte for byte.
    let values = (current?.ResourceRecords ?? []).map((r) => r.Value ?? '');
    let ttl = current?.TTL ?? this.#ttl;
    let replaced = false;
    for (const change of list) {
      if (change.action === 'upsert') {
        values = [encodeRoute53Txt(change.value)];
        ttl = change.ttl ?? this.#ttl;
        replaced = true;
      } else {
        values = values.filter((v) => decodeRoute53Txt(v) !== change.value);
      }
    }
    const before = (current?.ResourceRecords ?? []).map((r) => r.Value ?? '');
    const unchanged = values.length === before.length && values.every((v, i) => v === before[i]);
    if (unchanged && (!replaced || ttl === current?.TTL)) return [];
    const set = (records: string[], setTtl: number): ResourceRecordSet => ({
      Name: name,
      Type: 'TXT',
      TTL: setTtl,
      ResourceRecords: records.map((Value) => ({ Value })),
    });
    if (replaced && values.length > 0) return [{ Action: 'UPSERT', ResourceRecordSet: set(values, ttl) }];
    // Deletions: remove the set as read (exact match required), recreate the rest.
    if (current === undefined) return [];
    const out: Change[] = [{ Action: 'DELETE', ResourceRecordSet: current }];
    if (values.length > 0) out.push({ Action: 'CREATE', ResourceRecordSet: set(values, ttl) });
    return out;
  }

  async #readTxt(zoneId: string, name: string, domain: string): Promise<ResourceRecordSet | undefined> {
    const call = {
      service: SERVICE,
      operation: 'ListResourceRecordSets',
      region: ROUTE53_REGION,
      target: { zone: zoneId, name, domain },
    };
    const out = await awsCall(call, () =>
      this.#r53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          StartRecordName: name,
          StartRecordType: 'TXT',
          MaxItems: 1,
        }),
      ),
    );
    const set = out.ResourceRecordSets?.[0];
    // The listing starts at the name; what comes back may be the next name in the zone.
    if (set === undefined || fqdn(set.Name ?? '') !== name || set.Type !== 'TXT') return undefined;
    if (set.SetIdentifier !== undefined || set.AliasTarget !== undefined) {
      throw new InputError(
        'ROUTE53_RECORD_UNSUPPORTED',
        `${name} TXT in zone ${zoneId} uses a routing policy or alias; byodkim manages only simple TXT records`,
        { context: { zone: zoneId, name, domain } },
      );
    }
    return set;
  }

  async #zoneFor(domain: string, changes: readonly DnsRecordChange[]): Promise<{ id: string; name: string }> {
    if (this.#hostedZoneId !== undefined) return { id: this.#hostedZoneId, name: '' };
    const zones = await Promise.all(changes.map((c) => this.#findZone(fqdn(c.name), domain)));
    const first = zones[0] as { id: string; name: string };
    if (zones.some((z) => z.id !== first.id)) {
      throw new InputError(
        'ROUTE53_ZONES_MIXED',
        `the records of ${domain} fall into different hosted zones; one apply() is one change batch in one zone`,
        { context: { domain } },
      );
    }
    return first;
  }

  /**
   * The public hosted zone with the longest name that is a suffix of `name`, walking from
   * `name` up. Every name walked is cached with the zone found: the walk reaches a name only
   * after every deeper one was checked, so "the nearest zone at or above it" is the answer
   * for any later walk that gets there. Route 53 allows 5 API calls a second per account,
   * so a fleet pass should not repeat these.
   */
  async #findZone(name: string, domain: string): Promise<{ id: string; name: string }> {
    const labels = name.replace(/\.$/, '').split('.');
    const walked: string[] = [];
    const found = (zone: { id: string; name: string }) => {
      for (const w of walked) this.#zones.set(w, zone);
      return zone;
    };
    for (let i = 0; i < labels.length; i++) {
      const candidate = `${labels.slice(i).join('.')}.`;
      const cached = this.#zones.get(candidate);
      if (cached) return found(cached);
      walked.push(candidate);
      const call = {
        service: SERVICE,
        operation: 'ListHostedZonesByName',
        region: ROUTE53_REGION,
        target: { name: candidate, domain },
      };
      const out = await awsCall(call, () =>
        this.#r53.send(new ListHostedZonesByNameCommand({ DNSName: candidate, MaxItems: 10 })),
      );
      const matches = (out.HostedZones ?? []).filter(
        (z) => fqdn(z.Name ?? '') === candidate && !z.Config?.PrivateZone,
      );
      if (matches.length > 1) {
        throw new InputError(
          'ROUTE53_ZONE_AMBIGUOUS',
          `${matches.length} public hosted zones are named ${candidate}; set dns.hostedZoneId`,
          { context: { name: candidate, domain } },
        );
      }
      const match = matches[0];
      if (match?.Id !== undefined) {
        return found({ id: match.Id.replace(/^\/hostedzone\//, ''), name: candidate });
      }
    }
    throw new InputError(
      'ROUTE53_ZONE_NOT_FOUND',
      `no public Route 53 hosted zone contains ${name} (set dns.hostedZoneId for a private zone)`,
      { context: { name, domain } },
    );
  }

  async #waitInSync(changeId: string, zoneId: string, domain: string): Promise<void> {
    const deadline = Date.now() + this.#syncTimeoutMs;
    let delay = this.#syncPollMs;
    for (;;) {
      const call = {
        service: SERVICE,
        operation: 'GetChange',
        region: ROUTE53_REGION,
        target: { change: changeId, zone: zoneId, domain },
      };
      const out = await awsCall(call, () => this.#r53.send(new GetChangeCommand({ Id: changeId })));
      if (out.ChangeInfo?.Status === 'INSYNC') return;
      if (Date.now() + delay > deadline) {
        throw new ServiceError(
          'ROUTE53_NOT_INSYNC',
          `Route 53 change ${changeId} for ${domain} in zone ${zoneId} is still ${out.ChangeInfo?.Status ?? 'PENDING'} after ${Math.round(this.#syncTimeoutMs / 1000)} s; it was accepted and will complete, the next pass checks DNS`,
          {
            context: { service: SERVICE, operation: 'GetChange', change: changeId, zone: zoneId, domain },
            retryable: true,
          },
        );
      }
      await this.#sleep(delay);
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  }
}
