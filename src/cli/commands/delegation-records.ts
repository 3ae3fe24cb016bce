import type { Command } from 'commander';
import { findDomain } from '../../config/load.js';
import { delegationCnames } from '../../domain/delegation.js';
import { type ExportFormat, renderRecords } from '../../domain/dns-export.js';
import { InputError } from '../../errors.js';
import { type GlobalOptions, loadCliConfig } from '../context.js';

/** The one-time CNAME set a DNS team adds so byodkim can rotate in the delegated zone forever. */
export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const loaded = await loadCliConfig(global);
  const domain = findDomain(loaded, String(options.domain), '--domain');
  if (!domain.delegation) {
    throw new InputError(
      'NOT_DELEGATED',
      `${domain.domain} has no "delegation" in ${loaded.path}; add delegation: { zone: dkim.example.net } first`,
      {
        context: { domain: domain.domain },
      },
    );
  }
  const records = delegationCnames(domain.domain, domain.selectorPrefix, domain.delegation).map((c) => ({
    action: 'add' as const,
    type: 'CNAME' as const,
    domain: domain.domain,
    selector: c.selector,
    name: c.name,
    ttl: 3600,
    value: c.target,
  }));
  const format = (global.output === 'json' ? 'json' : String(options.format)) as ExportFormat;
  process.stdout.write(renderRecords(records, format));
  return 0;
}
