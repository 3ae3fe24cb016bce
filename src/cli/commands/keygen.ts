import type { Command } from 'commander';
import { buildStores } from '../../config/compose.js';
import { findDomain } from '../../config/load.js';
import type { KeyBits } from '../../domain/key.js';
import { buildDkimRecordValue, dkimRecordName, quoteTxtChunk, splitTxtValue } from '../../domain/record.js';
import { emptyDomainState } from '../../domain/state.js';
import { stageNewKey } from '../../engine/stage-key.js';
import { cliActor, cliClock, type GlobalOptions, loadCliConfig } from '../context.js';
import { printJson } from '../render.js';

const LEASE_MS = 60_000;

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const clock = cliClock(global);
  const loaded = await loadCliConfig(global);
  const domain = findDomain(loaded, String(options.domain));
  const { vault, state: store } = await buildStores(loaded, clock);
  const actor = cliActor();
  const lease = await store.acquireLease(domain.domain, `keygen:${process.pid}`, LEASE_MS);
  try {
    const current = await store.load(domain.domain);
    const { state, key } = await stageNewKey({
      domain,
      state: current?.value ?? emptyDomainState(domain.domain),
      vault,
      now: clock.now(),
      actor,
      ...(options.bits ? { bits: Number(options.bits) as KeyBits } : {}),
      reason: 'KeygenCommand',
    });
    await store.save(state, current?.version);
    const name = dkimRecordName(key.selector, domain.domain);
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
  } finally {
    await lease.release();
  }
}
