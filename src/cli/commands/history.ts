import type { Command } from 'commander';
import { buildStores } from '../../config/compose.js';
import { findDomain } from '../../config/load.js';
import { cliClock, type GlobalOptions, loadCliConfig } from '../context.js';
import { printJson, renderTable } from '../render.js';

/** The audit trail: every transition with time, selector, from → to, reason and actor. */
export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const loaded = await loadCliConfig(global);
  const domain = findDomain(loaded, String(options.domain), '--domain');
  const { state } = await buildStores(loaded, cliClock(global));
  const history = (await state.load(domain.domain))?.value.history ?? [];
  if (global.output === 'json') {
    printJson(history);
    return 0;
  }
  if (history.length === 0) {
    process.stdout.write(`${domain.domain}: no history yet\n`);
    return 0;
  }
  process.stdout.write(
    `${renderTable(
      ['TIME', 'SELECTOR', 'CHANGE', 'REASON', 'BY', 'MESSAGE'],
      history.map((h) => [
        h.at.replace('.000Z', 'Z'),
        h.selector ?? '-',
        h.from || h.to ? `${h.from ?? '-'} → ${h.to ?? '-'}` : '',
        h.reason,
        `${h.actor.kind}${h.actor.user ? `:${h.actor.user}` : ''}`,
        h.message,
      ]),
    )}\n`,
  );
  return 0;
}
