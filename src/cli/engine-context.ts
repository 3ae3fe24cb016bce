import { buildEngineDeps } from '../config/engine.js';
import { accountDomains, findDomain, type LoadedConfig, type ResolvedDomain } from '../config/load.js';
import { Reason } from '../domain/vocabulary.js';
import type { DomainResult, EngineDeps } from '../engine/reconcile.js';
import { ExitCode } from '../errors.js';
import { cliActor, cliClock, type GlobalOptions, loadCliConfig } from './context.js';
import { progressOutput } from './progress.js';

export interface CliEngine {
  loaded: LoadedConfig;
  deps: EngineDeps;
  domains: ResolvedDomain[];
}

/** Config, adapters and the domains a command acts on (`--domain`, `--account`, or all). */
export async function cliEngine(
  global: GlobalOptions,
  domain?: unknown,
  options: { quiet?: boolean; account?: unknown } = {},
): Promise<CliEngine> {
  const loaded = await loadCliConfig(global);
  let domains = domain === undefined ? loaded.domains : [findDomain(loaded, String(domain), '--domain')];
  if (options.account !== undefined) {
    const ofAccount = new Set(accountDomains(loaded, String(options.account), '--account'));
    domains = domains.filter((d) => ofAccount.has(d));
  }
  // stdout carries the one JSON document in JSON mode: progress and notices go to stderr.
  const humanStream = global.output === 'json' ? process.stderr : process.stdout;
  const output = progressOutput(humanStream, options);
  const deps = await buildEngineDeps(loaded, {
    clock: cliClock(global),
    actor: cliActor(),
    output,
    notifierStream: humanStream,
  });
  return { loaded, deps, domains };
}

/** 1 if any domain failed, 3 if any waits on something outside, else 0. */
export function exitCodeOf(results: readonly DomainResult[]): number {
  if (results.some((r) => r.outcome === 'failed')) return ExitCode.failure;
  if (results.some((r) => r.outcome === 'waiting' || r.outcome === 'locked')) return ExitCode.waiting;
  return ExitCode.ok;
}

/**
 * For commands that only read (plan, status): 1 if a domain could not be read at all
 * (corrupt state, credentials, an endpoint that refuses), 3 if SES could not be read right
 * now (throttled, unavailable: try again), else 0, whatever state the domains are in.
 */
export function readExitCode(results: readonly DomainResult[]): number {
  if (results.some((r) => r.outcome === 'failed')) return ExitCode.failure;
  if (results.some((r) => r.plan?.waits.some((w) => w.reason === Reason.SesUnavailable)))
    return ExitCode.waiting;
  return ExitCode.ok;
}

/** Every domain's errors on stderr, one line each, in both output modes: failures are never silent. */
export function reportDomainErrors(results: readonly Pick<DomainResult, 'domain' | 'errors'>[]): void {
  for (const r of results)
    for (const error of r.errors) process.stderr.write(`byodkim: ${r.domain}: ${error}\n`);
}
