import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';
import { runRollback } from './rotate.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  return runRollback(options, global);
}
