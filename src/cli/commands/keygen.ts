import type { Command } from 'commander';
import { buildStores } from '../../config/compose.js';
import { findDomain } from '../../config/load.js';
import { publishedRecordName } from '../../domain/delegation.js';
import type { KeyBits } from '../../domain/key.js';
import { buildDkimRecordValue, quoteTxtChunk, splitTxtValue } from '../../domain/record.js';
import { generateKeyNow } from '../../engine/operator.js';
import { cliActor, cliClock, type GlobalOptions, loadCliConfig } from '../context.js';
import { printJson } from '../render.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const clock = cliClock(global);
  const loaded = await loadCliConfig(global);
  const domain = findDomain(loaded, String(options.domain));
  const { vault, state } = await buildStores(loaded, clock);
  const key = await generateKeyNow(
    domain,
    { state, vault, clock, actor: cliActor(), owner: `keygen:${process.pid}` },
    { reason: 'KeygenCommand', ...(options.bits ? { bits: Number(options.bits) as KeyBits } : {}) },
  );
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
