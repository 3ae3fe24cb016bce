import { quoteTxtChunk, splitTxtValue } from './record.js';

/**
 * Records rendered for people and tools outside byodkim: a DNS team's CSV, zone-file
 * lines for BIND/Knot/NSD, and JSON. Every format carries the real public key, never the
 * SES console's `p=customerProvidedPublicKey` placeholder.
 */
export interface ExportRecord {
  /** `keep`: already published and still needed (the full list `dns-records` prints). */
  action: 'add' | 'keep' | 'remove';
  /** TXT (the key) unless stated: delegation hands out CNAMEs. */
  type?: 'TXT' | 'CNAME';
  domain: string;
  selector: string;
  /** Fully qualified, no trailing dot. */
  name: string;
  ttl: number;
  value: string;
  /** For removals: the earliest moment removal is safe (ISO). */
  notBefore?: string;
}

export type ExportFormat = 'csv' | 'zone' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'zone', 'json'];

export function renderRecords(records: readonly ExportRecord[], format: ExportFormat): string {
  switch (format) {
    case 'csv':
      return renderCsv(records);
    case 'zone':
      return renderZone(records);
    case 'json':
      return `${JSON.stringify(records.map(toJson), null, 2)}\n`;
  }
}

function toJson(record: ExportRecord) {
  return record.type === 'CNAME'
    ? { ...record }
    : { ...record, type: 'TXT', chunks: splitTxtValue(record.value) };
}

const CSV_COLUMNS = [
  'action',
  'type',
  'name',
  'ttl',
  'value',
  'value_chunked',
  'domain',
  'selector',
  'not_before',
] as const;

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function renderCsv(records: readonly ExportRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    const chunked = r.type === 'CNAME' ? r.value : splitTxtValue(r.value).map(quoteTxtChunk).join(' ');
    lines.push(
      [
        r.action,
        r.type ?? 'TXT',
        r.name,
        String(r.ttl),
        r.value,
        chunked,
        r.domain,
        r.selector,
        r.notBefore ?? '',
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Zone-file lines with an absolute owner name; each ≤255-byte chunk quoted. Removals are comments. */
function renderZone(records: readonly ExportRecord[]): string {
  const lines: string[] = [];
  for (const r of records) {
    if (r.type === 'CNAME') {
      lines.push(`; ${r.domain} delegated selector ${r.selector}`);
      lines.push(`${r.action === 'remove' ? '; REMOVE ' : ''}${r.name}. ${r.ttl} IN CNAME ${r.value}.`);
      continue;
    }
    const rdata = splitTxtValue(r.value).map(quoteTxtChunk).join(' ');
    if (r.action !== 'remove') {
      lines.push(`; ${r.domain} selector ${r.selector}${r.action === 'keep' ? ' (keep)' : ''}`);
      lines.push(`${r.name}. ${r.ttl} IN TXT ( ${rdata} )`);
    } else {
      lines.push(`; REMOVE (not before ${r.notBefore ?? 'now'}): ${r.domain} selector ${r.selector}`);
      lines.push(`; ${r.name}. ${r.ttl} IN TXT ( ${rdata} )`);
    }
  }
  return `${lines.join('\n')}\n`;
}
