import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { buildAwsClients } from '../../config/compose.js';
import type { LoadedConfig } from '../../config/load.js';
import type { AdoptSources } from '../../engine/adopt.js';
import { adoptDomain } from '../../engine/adopt.js';
import { cliActor, cliClock, type GlobalOptions } from '../context.js';
import { cliEngine } from '../engine-context.js';
import { printJson } from '../render.js';

const LEASE_MS = 60_000;

/** The seed system's secret and S3 object, read through the AWS adapters (keys stay in memory). */
function seedSource(
  loaded: LoadedConfig,
  domain: string,
  secretName: string,
  vault: unknown,
): NonNullable<AdoptSources['seed']> {
  return async () => {
    const clients = await buildAwsClients(loaded);
    const { SecretsManagerStateStore } = await import('../../adapters/aws/secrets-manager-state.js');
    const seed = await new SecretsManagerStateStore({ secretName, clients }).readSeedConfig(
      domain,
      secretName,
    );
    if (!seed) return undefined;
    let key: Awaited<ReturnType<import('../../adapters/aws/s3-vault.js').S3KeyVault['getAt']>>;
    if (seed.s3KeyPath) {
      const { S3KeyVault, parseS3Location } = await import('../../adapters/aws/s3-vault.js');
      const s3 =
        vault instanceof S3KeyVault
          ? vault
          : new S3KeyVault({ bucket: parseS3Location(seed.s3KeyPath, 'unknown').bucket, clients });
      key = await s3.getAt(seed.s3KeyPath);
    }
    return {
      ...(seed.selector ? { selector: seed.selector } : {}),
      ...(seed.createdAt ? { createdAt: seed.createdAt } : {}),
      ...(seed.expiresAt ? { expiresAt: seed.expiresAt } : {}),
      ...(key ? { key } : {}),
    };
  };
}

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
  const lease = await deps.state.acquireLease(domain.domain, `${deps.owner}:adopt`, LEASE_MS);
  try {
    const loadedState = await deps.state.load(domain.domain);
    const result = await adoptDomain(domain, deps, {
      fromEasyDkim: options.fromEasyDkim === true,
      sources,
      now: cliClock(global).now(),
      actor: cliActor(),
    });
    await deps.state.save(result.state, loadedState?.version);
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
  } finally {
    await lease.release();
  }
}
