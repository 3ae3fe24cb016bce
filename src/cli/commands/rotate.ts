import type { Command } from 'commander';
import { type OperatorRequest, requestThenApply } from '../../engine/operator.js';
import type { GlobalOptions } from '../context.js';
import { type CliEngine, cliEngine, exitCodeOf, reportDomainErrors } from '../engine-context.js';
import { printJson } from '../render.js';

/** Records the request under the domain's lease, then runs one pass for the domain. */
async function requestThenPrint(
  engine: CliEngine,
  global: GlobalOptions,
  request: OperatorRequest,
): Promise<number> {
  const { deps, domains } = engine;
  const domain = domains[0];
  if (!domain) return 2;
  const result = await requestThenApply(domain, deps, request);
  reportDomainErrors([result]);
  if (global.output === 'json')
    printJson({
      domain: result.domain,
      outcome: result.outcome,
      errors: result.errors,
      steps: result.plan?.steps ?? [],
      waits: result.plan?.waits ?? [],
    });
  return exitCodeOf([result]);
}

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  return requestThenPrint(await cliEngine(global, options.domain), global, {
    kind: 'rotate',
    emergency: options.emergency === true,
    revokeNow: options.revokeNow === true,
  });
}

export async function runRollback(options: Record<string, unknown>, global: GlobalOptions): Promise<number> {
  return requestThenPrint(await cliEngine(global, options.domain), global, { kind: 'rollback' });
}
