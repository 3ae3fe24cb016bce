import { buildEngineDeps } from '../config/engine.js';
import { findDomain, type LoadedConfig, type ResolvedDomain } from '../config/load.js';
import type { DomainResult, EngineDeps } from '../engine/reconcile.js';
import { ExitCode } from '../errors.js';
import { cliActor, cliClock, type GlobalOptions, loadCliConfig } from './context.js';
import { progressOutput } from './progress.js';

export interface CliEngine {
  loaded: LoadedConfig;
  deps: EngineDeps;
  domains: ResolvedDomain[];
}

/** Config, adapters and the domains a command acts on (`--domain` or all). */
export async function cliEngine(
  global: GlobalOptions,
  domain?: unknown,
  options: { quiet?: boolean } = {},
): Promise<CliEngine> {
  const loaded = await loadCliConfig(global);
  const domains = domain === undefined ? loaded.domains : [findDomain(loaded, String(domain), '--domain')];
  const output = progressOutput(global.output === 'json' ? process.stderr : process.stdout, options);
  const deps = await buildEngineDeps(loaded, { clock: cliClock(global), actor: cliActor(), output });
  return { loaded, deps, domains };
}

/** 1 if any domain failed, 3 if any waits on something outside, else 0. */
export function exitCodeOf(results: readonly DomainResult[]): number {
  if (results.some((r) => r.outcome === 'failed')) return ExitCode.failure;
  if (results.some((r) => r.outcome === 'waiting' || r.outcome === 'locked')) return ExitCode.waiting;
  return ExitCode.ok;
}
