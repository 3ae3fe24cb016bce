import type { AdoptSources } from '../engine/adopt.js';
import type { KeyVault } from '../ports.js';
import { buildAwsClients } from './compose.js';
import type { LoadedConfig } from './load.js';

/**
 * The seed system's Secrets Manager secret and the S3 object its `s3_key_path` names,
 * read through the AWS adapters for `adopt --seed-secret` (the key stays in memory). The
 * configured S3 vault is used when it is one; otherwise a vault for the seed's bucket.
 */
export function seedSource(
  loaded: LoadedConfig,
  domain: string,
  secretName: string,
  vault: KeyVault,
): NonNullable<AdoptSources['seed']> {
  return async () => {
    const clients = await buildAwsClients(loaded);
    const { SecretsManagerStateStore } = await import('../adapters/aws/secrets-manager-state.js');
    const seed = await new SecretsManagerStateStore({ secretName, clients }).readSeedConfig(
      domain,
      secretName,
    );
    if (!seed) return undefined;
    const { S3KeyVault, parseS3Location } = await import('../adapters/aws/s3-vault.js');
    const s3 = !seed.s3KeyPath
      ? undefined
      : vault instanceof S3KeyVault
        ? vault
        : new S3KeyVault({ bucket: parseS3Location(seed.s3KeyPath, 'unknown').bucket, clients });
    const key = seed.s3KeyPath ? await s3?.getAt(seed.s3KeyPath) : undefined;
    return {
      ...(seed.selector ? { selector: seed.selector } : {}),
      ...(seed.createdAt ? { createdAt: seed.createdAt } : {}),
      ...(seed.expiresAt ? { expiresAt: seed.expiresAt } : {}),
      ...(key ? { key } : {}),
    };
  };
}
