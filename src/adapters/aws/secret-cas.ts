/**
 * Compare-and-swap on a Secrets Manager secret, which has no conditional write of its own.
 *
 * The trick: the id of the version written on top of version V is not random but derived
 * from V, `ClientRequestToken = uuid(sha256(secret name, V))`. Secrets Manager treats a
 * ClientRequestToken that is already in use as the id of an existing, immutable version:
 * the same token with the same content is ignored (an idempotent retry succeeds), the same
 * token with other content fails with ResourceExistsException. So of two writers that both
 * read V and both write, exactly one creates "the successor of V"; the other is refused,
 * and reports a conflict. Versions form a chain V → f(V) → f(f(V)) that never repeats.
 *
 * How the check-then-put race is bounded: the caller first reads AWSCURRENT and refuses if
 * it is not the expected version (the ordinary, common conflict). A writer that passed that
 * check and is overtaken before its PUT lands needs the token f(V) — already taken by the
 * writer who overtook it — so it is refused as well. What remains: Secrets Manager deletes
 * versions that carry no staging label once a secret has more than ~100 of them and the
 * version is older than 24 h. A writer would have to stall for over a day between its check
 * and its PUT (milliseconds apart in one call) while 100 newer versions were written, for
 * f(V) to be free again. Tools that write the secret without this protocol (the seed
 * system's Lambda, the console) are detected only by the check, not by the token; stop them
 * after adoption. The per-domain lease is the real mutual exclusion; this only makes sure a
 * lease that was lost (expired during a long pause) cannot silently overwrite newer state.
 *
 * Every write is a new secret version, and Secrets Manager holds about 100 of them, pruning
 * only those older than 24 h: about 100 writes per secret per day is the ceiling (the engine
 * saves once per pass per domain).
 */
import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CorruptDataError } from '../../errors.js';
import { awsCall, awsErrorName } from './errors.js';

export const SECRET_MAX_BYTES = 65_536;
const SERVICE = 'Secrets Manager';

export interface SecretValue {
  versionId: string;
  text: string;
}

export interface SecretTarget {
  client: SecretsManagerClient;
  name: string;
  region: string | undefined;
  /** Context for errors, e.g. `{ domain }`. */
  about: Readonly<Record<string, string>>;
}

/** The version id written on top of `base` (undefined: the first version of a new secret). */
export function successorVersion(name: string, base: string | undefined): string {
  const hex = createHash('sha256')
    .update(`byodkim\u0000${name}\u0000${base ?? '\u0000none'}`)
    .digest('hex');
  // Shaped as a UUID (version 4 nibble, variant bits) since that is what AWS tools expect.
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** AWSCURRENT of a secret, or undefined if there is no such secret. */
export async function readSecret(target: SecretTarget): Promise<SecretValue | undefined> {
  return awsCall(
    {
      service: SERVICE,
      operation: 'GetSecretValue',
      region: target.region,
      target: { secret: target.name, ...target.about },
    },
    async () => {
      try {
        const out = await target.client.send(new GetSecretValueCommand({ SecretId: target.name }));
        if (out.SecretString === undefined || out.VersionId === undefined) {
          throw new CorruptDataError(
            `secret ${target.name} holds binary data, not the JSON byodkim expects; it was left as it is`,
            { context: { secret: target.name, ...target.about } },
          );
        }
        return { versionId: out.VersionId, text: out.SecretString };
      } catch (error) {
        if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
        throw error;
      }
    },
  );
}

export type CasResult = { ok: true; versionId: string } | { ok: false; reason: 'exists' | 'taken' };

/**
 * Writes `text` as the successor of `base` (the version the caller read; undefined when the
 * caller saw no secret). Returns `{ ok: false }` when another writer got there first:
 * `exists` (the secret was created meanwhile) or `taken` (the successor of `base` exists
 * with other content).
 */
export async function writeSecretSuccessor(
  target: SecretTarget,
  base: string | undefined,
  text: string,
  options: { kmsKeyId?: string; description?: string } = {},
): Promise<CasResult> {
  const versionId = successorVersion(target.name, base);
  const about = { secret: target.name, ...target.about };
  if (base === undefined) {
    const input: CreateSecretCommandInput = {
      Name: target.name,
      SecretString: text,
      ClientRequestToken: versionId,
    };
    if (options.kmsKeyId !== undefined) input.KmsKeyId = options.kmsKeyId;
    if (options.description !== undefined) input.Description = options.description;
    return awsCall(
      { service: SERVICE, operation: 'CreateSecret', region: target.region, target: about },
      async () => {
        try {
          await target.client.send(new CreateSecretCommand(input));
          return { ok: true, versionId } as const;
        } catch (error) {
          if (awsErrorName(error) !== 'ResourceExistsException') throw error;
        }
        // Ours if an earlier attempt of this very call landed (same token, same content).
        const now = await readSecret(target);
        if (now?.versionId === versionId && now.text === text) return { ok: true, versionId } as const;
        return { ok: false, reason: 'exists' } as const;
      },
    );
  }
  return awsCall(
    { service: SERVICE, operation: 'PutSecretValue', region: target.region, target: about },
    async () => {
      try {
        await target.client.send(
          new PutSecretValueCommand({
            SecretId: target.name,
            SecretString: text,
            ClientRequestToken: versionId,
          }),
        );
        return { ok: true, versionId } as const;
      } catch (error) {
        if (awsErrorName(error) === 'ResourceExistsException') return { ok: false, reason: 'taken' } as const;
        throw error;
      }
    },
  );
}
