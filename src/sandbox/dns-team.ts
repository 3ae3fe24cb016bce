/**
 * The sandbox's DNS team: people who receive byodkim's hand-off files and edit the zone by
 * hand some hours later. They read the JSON request byodkim wrote (the same file a real
 * team would get, next to the CSV and the zone lines), add records after `delayMs` of
 * virtual time, and remove records no earlier than the `notBefore` byodkim put on them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ZoneStore } from '../../emulator/dns/zone-store.js';

interface RequestedRecord {
  action: 'add' | 'remove';
  name: string;
  value: string;
  /** The value split into ≤255-byte strings, as the request file gives it. */
  chunks?: string[];
  notBefore?: string;
  selector?: string;
}

interface PendingChange {
  file: string;
  record: RequestedRecord;
  dueMs: number;
}

export interface TeamAction {
  domain: string;
  message: string;
}

export class DnsTeam {
  readonly #seen = new Set<string>();
  #pending: PendingChange[] = [];

  constructor(
    private readonly requests: ReadonlyArray<{ domain: string; outDir: string }>,
    private readonly zones: ZoneStore,
    private readonly clock: { now(): Date },
    readonly delayMs: number,
  ) {}

  /** Picks up new request files, then applies every change that is due. */
  async work(): Promise<TeamAction[]> {
    const nowMs = this.clock.now().getTime();
    const actions: TeamAction[] = [];
    for (const { domain, outDir } of this.requests) {
      for (const file of await jsonFiles(outDir)) {
        if (this.#seen.has(file)) continue;
        this.#seen.add(file);
        const records = JSON.parse(await readFile(join(outDir, file), 'utf8')) as RequestedRecord[];
        for (const record of records) {
          const notBefore = record.notBefore ? Date.parse(record.notBefore) : 0;
          this.#pending.push({ file, record, dueMs: Math.max(nowMs + this.delayMs, notBefore) });
        }
        actions.push({ domain, message: `received ${file}: ${this.#describe(records, nowMs)}` });
      }
    }
    const due = this.#pending.filter((p) => p.dueMs <= nowMs);
    this.#pending = this.#pending.filter((p) => p.dueMs > nowMs);
    for (const { file, record } of due) {
      const domain = this.requests.find((r) => record.name.endsWith(`.${r.domain}`))?.domain ?? '';
      if (record.action === 'add') {
        this.zones.setTxt(record.name, record.chunks ?? record.value);
        actions.push({ domain, message: `added TXT ${record.name} by hand (from ${file})` });
      } else {
        this.#remove(record);
        actions.push({ domain, message: `removed TXT ${record.name} by hand (from ${file})` });
      }
    }
    return actions;
  }

  /** When the team will next change the zone, if it has work waiting. */
  nextActionAt(): Date | undefined {
    const next = Math.min(...this.#pending.map((p) => p.dueMs));
    return Number.isFinite(next) ? new Date(next) : undefined;
  }

  #describe(records: readonly RequestedRecord[], nowMs: number): string {
    const adds = records.filter((r) => r.action === 'add').length;
    const removes = records.filter((r) => r.action === 'remove');
    const hours = Math.round(this.delayMs / 3_600_000);
    const parts: string[] = [];
    if (adds > 0) parts.push(`${adds} record(s) to add, done in ${hours} h`);
    if (removes.length > 0) {
      const notBefore = Math.max(...removes.map((r) => (r.notBefore ? Date.parse(r.notBefore) : 0)));
      const at = new Date(Math.max(nowMs + this.delayMs, notBefore));
      parts.push(`${removes.length} to remove, not before ${shortTime(at)} as the request says`);
    }
    return parts.join('; ');
  }

  /** Removes exactly the requested value; other TXT records at the name stay. */
  #remove(record: RequestedRecord): void {
    const others = this.zones.getTxt(record.name).filter((strings) => strings.join('') !== record.value);
    this.zones.removeTxt(record.name);
    for (const strings of others) this.zones.addTxt(record.name, strings);
  }
}

async function jsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export function shortTime(iso: string | Date): string {
  return (typeof iso === 'string' ? iso : iso.toISOString()).slice(0, 16).replace('T', ' ');
}
