/**
 * Manual hand-off (phase 4 without DNS access): the batch becomes a request for the DNS
 * team, as files in `outDir`, and a notification; byodkim then waits, probing DNS, until
 * every nameserver shows the change (the engine does the waiting with the probe).
 *
 *   <outDir>/<domain>-<UTC stamp>.csv    for spreadsheets and ticket systems
 *   <outDir>/<domain>-<UTC stamp>.zone   zone-file lines, each string ≤ 255 bytes
 *   <outDir>/<domain>-<UTC stamp>.json   for tools
 *
 * All three carry the real public key (never SES's `p=customerProvidedPublicKey`
 * placeholder) and, for removals, `notBefore`: the moment removal becomes safe.
 */
import { unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ExportFormat, type ExportRecord, renderRecords } from '../../domain/dns-export.js';
import { ServiceError, StorageError } from '../../errors.js';
import type { DnsPublisher, DnsRecordChange, Notifier, PublishOutcome } from '../../ports.js';
import { ensureSharedDir, sweepAbandoned, writeNewFile } from '../local/fs-atomic.js';

export interface ManualHandOffOptions {
  /** Where request files are written (config `dns.outDir`); created if missing. */
  outDir: string;
  /** TTL for records whose change names none. Default 300 (config `dns.ttl`). */
  ttl?: number;
  /** Who tells the DNS team (stdout, file, SNS, ...). Called once per batch. */
  notifier: Notifier;
  /** Clock for the file names. Default the system clock. */
  now?: () => Date;
}

const FORMATS: readonly ExportFormat[] = ['csv', 'zone', 'json'];

/**
 * @example
 * ```ts
 * const publisher = new ManualHandOffPublisher({ outDir: 'dns-requests', notifier: new StdoutNotifier() });
 * await publisher.apply('example.com', changes); // 'handed-off'; files in dns-requests/
 * ```
 */
export class ManualHandOffPublisher implements DnsPublisher {
  readonly description: string;
  readonly mode = 'manual' as const;
  readonly outDir: string;
  readonly #ttl: number;
  readonly #notifier: Notifier;
  readonly #now: () => Date;

  constructor(options: ManualHandOffOptions) {
    this.outDir = resolve(options.outDir);
    this.#ttl = options.ttl ?? 300;
    this.#notifier = options.notifier;
    this.#now = options.now ?? (() => new Date());
    this.description = `manual hand-off to ${this.outDir}`;
  }

  async apply(domain: string, changes: readonly DnsRecordChange[]): Promise<PublishOutcome> {
    // Nothing to ask for: nothing to wait on either.
    if (changes.length === 0) return 'applied';
    const add = changes.filter((c) => c.action === 'upsert').map((c) => ({ ...c, ttl: c.ttl ?? this.#ttl }));
    const remove = changes
      .filter((c) => c.action === 'delete')
      .map((c) => ({ ...c, ttl: c.ttl ?? this.#ttl }));
    const records = [...add, ...remove].map((c) => toExportRecord(domain, c));
    const files = await this.#write(domain, records);
    try {
      await this.#notifier.notify({ kind: 'dns-hand-off', domain, add, remove, files });
    } catch (error) {
      throw new ServiceError(
        'HAND_OFF_NOTIFY_FAILED',
        `the DNS request for ${domain} was written (${files.join(', ')}) but nobody could be told: ${(error as Error).message}`,
        { context: { service: 'notify', domain, files: files.join(' ') }, cause: error, retryable: true },
      );
    }
    return 'handed-off';
  }

  /** Writes the three files under one fresh base name; never replaces an earlier request. */
  async #write(domain: string, records: readonly ExportRecord[]): Promise<string[]> {
    try {
      // Others may read a request (a public key is no secret); only byodkim may change it.
      await ensureSharedDir(this.outDir);
    } catch (error) {
      throw writeError(domain, this.outDir, error);
    }
    // A request killed mid-write was never whole: it is written again now, its temp files go.
    await sweepAbandoned(this.outDir);
    const stamp = utcStamp(this.#now());
    for (let attempt = 1; attempt < 1000; attempt++) {
      const base = join(this.outDir, `${domain}-${stamp}${attempt === 1 ? '' : `-${attempt}`}`);
      const written: string[] = [];
      let taken = false;
      for (const format of FORMATS) {
        const path = `${base}.${format}`;
        let created: boolean;
        try {
          // Readable by the DNS team: a public key is not a secret.
          created = await writeNewFile(path, renderRecords(records, format), 0o644);
        } catch (error) {
          throw writeError(domain, path, error);
        }
        if (!created) {
          taken = true;
          break;
        }
        written.push(path);
      }
      // Two batches in one second: keep what is ours, move the whole set to the next name.
      if (!taken) return written;
      await Promise.all(written.map((p) => unlink(p)));
    }
    throw writeError(domain, this.outDir, new Error('no free file name'));
  }
}

function toExportRecord(domain: string, change: DnsRecordChange & { ttl: number }): ExportRecord {
  return {
    action: change.action === 'upsert' ? 'add' : 'remove',
    domain,
    selector: change.selector,
    name: change.name,
    ttl: change.ttl,
    value: change.value,
    ...(change.action === 'delete' && change.notBefore !== undefined ? { notBefore: change.notBefore } : {}),
  };
}

/** `20260131T120000Z`: sorts by time, safe in file names on every system. */
export function utcStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function writeError(domain: string, path: string, error: unknown): StorageError {
  const cause = error instanceof StorageError ? error.cause : error;
  return new StorageError(`write the DNS request for ${domain} to`, path, cause, {
    context: { service: 'dns', domain },
  });
}
