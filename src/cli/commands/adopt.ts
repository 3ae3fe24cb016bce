import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { seedSource } from '../../config/seed-source.js';
import type { AdoptSources } from '../../engine/adopt.js';
import { adoptNow } from '../../engine/adopt.js';
import { cliActor, cliClock, type GlobalOptions } from '../context.js';
import { cliEngine } from '../engine-context.js';
import { printJson } from '../render.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const { loaded, deps, domains } = await cliEngine(global, options.domain);
  const domain = domains[0];
  if (!domain) return 2;
  const sources: AdoptSources = {};
  if (typeof options.keyFile === 'string')
    sources.keyFile = { path: options.keyFile, read: (path) => readFile(path, 'utf8') };
  if (typeof options.seedSecret === 'string')
    sources.seed = seedSource(loaded, domain.domain, options.seedSecret, deps.vault);
  const result = await adoptNow(domain, deps, {
    fromEasyDkim: options.fromEasyDkim === true,
    sources,
    now: cliClock(global).now(),
    actor: cliActor(),
  });
  if (global.output === 'json')
    printJson({
      domain: domain.domain,
      summary: result.summary,
      warnings: result.warnings,
      keys: result.state.keys,
    });
  else {
    process.stdout.write(`${result.summary}\n`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
  }
  return 0;
}
