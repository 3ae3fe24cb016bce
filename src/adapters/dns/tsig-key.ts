/**
 * Reading a TSIG key's secret from where the config says it is: an environment variable
 * or a file. A file may hold the bare base64 secret or a BIND key clause as written by
 * `tsig-keygen` / `ddns-confgen`:
 *
 * ```
 * key "byodkim-update" {
 *     algorithm hmac-sha256;
 *     secret "c2VjcmV0...";
 * };
 * ```
 *
 * Errors name the variable or file and the key, never the secret or the file's content.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { canonicalName, type TsigAlgorithm, type TsigKey } from './tsig.js';

export interface TsigKeyConfig {
  name: string;
  algorithm: TsigAlgorithm;
  secretEnv?: string | undefined;
  secretFile?: string | undefined;
}

const ALGORITHMS: readonly TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha512'];

/**
 * Loads the key named in the config with its secret.
 *
 * When a BIND key file names the algorithm, the file wins over the config's (whose
 * `hmac-sha256` may only be the default): the file is what the server was given too.
 *
 * @throws {@link InputError} `TSIG_SECRET_MISSING`, `TSIG_SECRET_UNREADABLE`, `TSIG_SECRET_INVALID`.
 * @example
 * ```ts
 * const key = await loadTsigKey({ name: 'byodkim-update', algorithm: 'hmac-sha256', secretEnv: 'TSIG_SECRET' });
 * ```
 */
export async function loadTsigKey(
  config: TsigKeyConfig,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<TsigKey> {
  const env = options.env ?? process.env;
  if (config.secretEnv !== undefined) {
    const value = env[config.secretEnv];
    if (value === undefined || value.trim() === '') {
      throw new InputError(
        'TSIG_SECRET_MISSING',
        `dns.tsig.secretEnv: environment variable ${config.secretEnv} (secret of TSIG key "${config.name}") is not set`,
        { context: { keyName: config.name, secretEnv: config.secretEnv } },
      );
    }
    return {
      name: config.name,
      algorithm: config.algorithm,
      secret: checkSecret(value, config, `${config.secretEnv}`),
    };
  }
  if (config.secretFile !== undefined) {
    let text: string;
    try {
      text = await readFile(config.secretFile, 'utf8');
    } catch (error) {
      throw new InputError(
        'TSIG_SECRET_UNREADABLE',
        `dns.tsig.secretFile: ${config.secretFile} (secret of TSIG key "${config.name}") cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        { context: { keyName: config.name, secretFile: config.secretFile } },
      );
    }
    return parseKeyFile(text, config, config.secretFile);
  }
  throw new InputError(
    'TSIG_SECRET_MISSING',
    `dns.tsig: give secretEnv or secretFile for TSIG key "${config.name}"`,
    {
      context: { keyName: config.name },
    },
  );
}

/** Reads a bare base64 secret or a BIND `key` clause for `config.name`. */
export function parseKeyFile(text: string, config: TsigKeyConfig, where: string): TsigKey {
  const clauses = [...text.matchAll(/key\s+(?:"([^"]+)"|([^\s{]+))\s*\{([\s\S]*?)\}\s*;?/g)];
  if (clauses.length === 0) {
    return { name: config.name, algorithm: config.algorithm, secret: checkSecret(text, config, where) };
  }
  const wanted = canonicalName(config.name);
  const clause = clauses.find((c) => canonicalName(c[1] ?? c[2] ?? '') === wanted);
  if (clause === undefined) {
    const names = clauses.map((c) => `"${c[1] ?? c[2]}"`).join(', ');
    throw new InputError(
      'TSIG_SECRET_INVALID',
      `dns.tsig.secretFile: ${where} holds key ${names}, not "${config.name}" (dns.tsig.name)`,
      { context: { keyName: config.name, secretFile: where } },
    );
  }
  const body = clause[3] ?? '';
  const algorithmText = /algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;/.exec(body)?.[1];
  let algorithm = config.algorithm;
  if (algorithmText !== undefined) {
    const normalized = canonicalName(algorithmText) as TsigAlgorithm;
    if (!ALGORITHMS.includes(normalized)) {
      throw new InputError(
        'TSIG_SECRET_INVALID',
        `dns.tsig.secretFile: key "${config.name}" in ${where} uses ${algorithmText}; byodkim signs with hmac-sha256 or hmac-sha512`,
        { context: { keyName: config.name, secretFile: where } },
      );
    }
    algorithm = normalized;
  }
  const secret = /secret\s+"([^"]*)"\s*;/.exec(body)?.[1];
  if (secret === undefined) {
    throw new InputError(
      'TSIG_SECRET_INVALID',
      `dns.tsig.secretFile: key "${config.name}" in ${where} has no secret`,
      {
        context: { keyName: config.name, secretFile: where },
      },
    );
  }
  return { name: config.name, algorithm, secret: checkSecret(secret, config, where) };
}

function checkSecret(raw: string, config: TsigKeyConfig, where: string): string {
  const secret = raw.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || Buffer.from(secret, 'base64').length === 0) {
    throw new InputError(
      'TSIG_SECRET_INVALID',
      `the secret of TSIG key "${config.name}" from ${where} is not base64 (expected the bare secret or a BIND key clause)`,
      { context: { keyName: config.name, source: where } },
    );
  }
  return secret;
}
