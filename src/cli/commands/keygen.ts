import type { Command } from 'commander';
import { publishedRecordName } from '../../domain/delegation.js';
import type { KeyBits } from '../../domain/key.js';
import { buildDkimRecordValue, quoteTxtChunk, splitTxtValue } from '../../domain/record.js';
import { Reason } from '../../domain/vocabulary.js';
import { generateKeyNow } from '../../engine/operator.js';
import type { GlobalOptions } from '../context.js';
import { cliEngine } from '../engine-context.js';
import { printJson } from '../render.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const { deps, domains } = await cliEngine(global, options.domain, { quiet: true });
  const domain = domains[0];
  if (!domain) return 2;
  const vault = deps.vault;
  const key = await generateKeyNow(domain, deps, {
    reason: Reason.KeygenCommand,
    ...(options.bits ? { bits: Number(options.bits) as KeyBits } : {}),
  });
  const name = publishedRecordName(domain, key.selector);
  const value = buildDkimRecordValue(key.publicKey);
  if (global.output === 'json') {
    printJson({
      domain: domain.domain,
      selector: key.selector,
      bits: key.bits,
      name,
      type: 'TXT',
      value,
      chunks: splitTxtValue(value),
      vaultRef: key.vaultRef,
    });
  } else {
    process.stdout.write(
      `Generated ${key.bits}-bit key ${key.selector} for ${domain.domain} (stored in ${vault.description}).\n` +
        `Publish this TXT record:\n\n${name}. IN TXT ( ${splitTxtValue(value).map(quoteTxtChunk).join(' ')} )\n`,
    );
  }
  return 0;
}
