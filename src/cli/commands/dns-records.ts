import type { Command } from 'commander';
import { buildStores } from '../../config/compose.js';
import { findDomain, type ResolvedDomain } from '../../config/load.js';
import { publishedRecordName } from '../../domain/delegation.js';
import { type ExportFormat, type ExportRecord, renderRecords } from '../../domain/dns-export.js';
import { buildDkimRecordValue } from '../../domain/record.js';
import type { KeyVault, StateStore } from '../../ports.js';
import { cliClock, type GlobalOptions, loadCliConfig } from '../context.js';

/** Keys that still need a record: every key in the vault that is not retired or revoked. */
const LIVE = new Set(['staged', 'published', 'verified', 'active', 'retiring', 'failed']);

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const clock = cliClock(global);
  const loaded = await loadCliConfig(global);
  const domains = options.domain ? [findDomain(loaded, String(options.domain), '--domain')] : loaded.domains;
  const { vault, state } = await buildStores(loaded, clock);
  const records: ExportRecord[] = [];
  for (const domain of domains) records.push(...(await recordsFor(domain, vault, state)));
  const format = (global.output === 'json' ? 'json' : String(options.format)) as ExportFormat;
  process.stdout.write(renderRecords(records, format));
  return 0;
}

async function recordsFor(
  domain: ResolvedDomain,
  vault: KeyVault,
  store: StateStore,
): Promise<ExportRecord[]> {
  const state = (await store.load(domain.domain))?.value;
  const known = new Map((state?.keys ?? []).map((k) => [k.selector, k]));
  const out: ExportRecord[] = [];
  for (const selector of await vault.list(domain.domain)) {
    const entry = known.get(selector);
    if (entry && !LIVE.has(entry.status)) continue;
    // A key the state does not name (stored by hand or before a crash) still gets its record.
    const publicKey = entry?.publicKey ?? (await vault.get(domain.domain, selector))?.publicKey;
    if (!publicKey) continue;
    out.push({
      action: 'add',
      domain: domain.domain,
      selector,
      name: publishedRecordName(domain, selector),
      ttl: domain.dns.ttl,
      value: buildDkimRecordValue(publicKey),
    });
  }
  return out;
}
