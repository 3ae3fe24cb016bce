import type { Command } from 'commander';
import { buildStores } from '../../config/compose.js';
import { findDomain, type ResolvedDomain } from '../../config/load.js';
import { publishedRecordName } from '../../domain/delegation.js';
import { dnsDutyOf, graceEndsAt } from '../../domain/dns-duty.js';
import { type ExportFormat, type ExportRecord, renderRecords } from '../../domain/dns-export.js';
import { ExitCode } from '../../errors.js';
import type { KeyVault, StateStore } from '../../ports.js';
import { cliClock, type GlobalOptions, loadCliConfig } from '../context.js';

/** Keys whose private key byodkim still needs: to switch SES to them, or to put them back. */
const NEEDS_PRIVATE_KEY = new Set(['staged', 'published', 'verified', 'active']);

/**
 * What the DNS team must do now, per record: add, keep or remove (the same rules as
 * `verify-dns` and `doctor`, src/domain/dns-duty.ts), from the state. Exit 1 when the
 * vault lacks a private key the state still needs.
 */
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
  let missingKeys = 0;
  for (const domain of domains) {
    const found = await recordsFor(domain, vault, state);
    records.push(...found.records);
    missingKeys += found.missingKeys;
  }
  const format = (global.output === 'json' ? 'json' : String(options.format)) as ExportFormat;
  process.stdout.write(renderRecords(records, format));
  return missingKeys > 0 ? ExitCode.failure : ExitCode.ok;
}

async function recordsFor(
  domain: ResolvedDomain,
  vault: KeyVault,
  store: StateStore,
): Promise<{ records: ExportRecord[]; missingKeys: number }> {
  const keys = (await store.load(domain.domain))?.value.keys ?? [];
  if (keys.length === 0) {
    process.stderr.write(
      `byodkim: ${domain.domain}: no keys in ${store.description} yet (run "byodkim apply")\n`,
    );
    return { records: [], missingKeys: 0 };
  }
  const inVault = new Set(await vault.list(domain.domain));
  let missingKeys = 0;
  const records: ExportRecord[] = [];
  for (const key of keys) {
    const duty = dnsDutyOf(key);
    if (duty === undefined) continue;
    if (NEEDS_PRIVATE_KEY.has(key.status) && !key.revokedAt && !inVault.has(key.selector)) {
      missingKeys++;
      process.stderr.write(
        `byodkim: ${domain.domain}: ${vault.description} has no private key for ${key.selector} (${key.status}); byodkim cannot put it in SES\n`,
      );
    }
    records.push({
      action: duty.action,
      domain: domain.domain,
      selector: key.selector,
      name: publishedRecordName(domain, key.selector),
      ttl: domain.dns.ttl,
      value: duty.value,
      ...(duty.action === 'remove'
        ? { notBefore: graceEndsAt(key, domain.policy.graceDays).toISOString() }
        : {}),
    });
  }
  return { records, missingKeys };
}
