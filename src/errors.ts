/**
 * The project's error family. Every error carries a stable string `code` (for scripts and
 * tests), the CLI exit code it maps to, and a plain-data `context` naming the offending
 * value and where it came from. Errors never carry key material: callers pass selectors,
 * paths and names, never keys.
 */

/** Exit codes of the CLI (PRODUCT.md): scripts and cron jobs rely on them. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  badInput: 2,
  waiting: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Plain data naming the offending value and where it came from (never key material). */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * The base of every error byodkim throws on purpose. `code` is a stable string (part of the
 * public API: scripts may branch on it), `exitCode` is what the CLI exits with, `context`
 * names the value and its source.
 *
 * @example
 * ```ts
 * import { ByodkimError, loadConfig } from 'byodkim';
 *
 * try {
 *   await loadConfig('missing.yaml');
 * } catch (error) {
 *   if (error instanceof ByodkimError) console.error(error.code, error.exitCode, error.context); // CONFIG_NOT_FOUND 2 { path: 'missing.yaml' }
 * }
 * ```
 */
export class ByodkimError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly context: ErrorContext;

  constructor(
    code: string,
    message: string,
    options: { context?: ErrorContext; cause?: unknown; exitCode?: ExitCode } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.context = options.context ?? {};
  }
}

/**
 * Bad input from a user: config, flags, files. Exit code 2, nothing changed.
 *
 * @example
 * ```ts
 * import { InputError, parseConfig } from 'byodkim/core';
 *
 * try {
 *   parseConfig('domains: [{ domain: example.com, regions: [ap-northeast-9] }]', 'inline.yaml');
 * } catch (error) {
 *   if (error instanceof InputError) console.error(error.message); // ...domains[0].regions[0]: "ap-northeast-9" is not an SES region
 * }
 * ```
 */
export class InputError extends ByodkimError {
  constructor(code: string, message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: ExitCode.badInput });
  }
}

/**
 * A stored file or record that cannot be read as what it should be (code `CORRUPT_DATA`).
 * byodkim leaves it untouched for a person to look at.
 *
 * @example
 * ```ts
 * if (error instanceof CorruptDataError) console.error(`repair by hand: ${error.message}`);
 * ```
 */
export class CorruptDataError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('CORRUPT_DATA', message, options);
  }
}

/**
 * Optimistic concurrency (code `CONFLICT`): someone else saved the domain's state first. The
 * next pass starts from what they saved.
 *
 * @example
 * ```ts
 * if (error instanceof ConflictError) console.error('another run changed the domain; run again');
 * ```
 */
export class ConflictError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('CONFLICT', message, options);
  }
}

/**
 * A lease/lock on a domain is held by another actor (code `LOCKED`): waiting on something
 * outside (exit 3), the same for every command, as the other run will let go.
 * {@link applyDomain} reports it as the outcome `locked` instead of throwing.
 *
 * @example
 * ```ts
 * if (error instanceof LockedError) console.error(`busy: ${error.message}`);
 * ```
 */
export class LockedError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('LOCKED', message, { ...options, exitCode: ExitCode.waiting });
  }
}

/**
 * Local storage failed (disk full, read-only, permissions, a directory where a file should
 * be; code `STORAGE_FAILED`, exit 1): the message names the operation and the path, e.g.
 * `cannot write /var/lib/byodkim/state/example.com.json: ENOSPC (no space left on device)`.
 *
 * @example
 * ```ts
 * if (error instanceof StorageError) console.error(`${error.context.path}: ${error.message}`);
 * ```
 */
export class StorageError extends ByodkimError {
  constructor(
    operation: string,
    path: string,
    cause: unknown,
    options: { context?: ErrorContext; exitCode?: ExitCode } = {},
  ) {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      'STORAGE_FAILED',
      `cannot ${operation} ${path}: ${errno ? `${errno} (${ERRNO_WORDS[errno] ?? describeError(cause)})` : describeError(cause)}`,
      {
        cause,
        context: { operation, path, errno, ...options.context },
        ...(options.exitCode === undefined ? {} : { exitCode: options.exitCode }),
      },
    );
  }
}

/** Plain words for the errors a disk gives, so a person knows what to fix. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file size limit',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'a directory is where a file should be',
  ENOTDIR: 'a file is where a directory should be',
  EEXIST: 'something else already exists there',
  ENOENT: 'no such file or directory',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
};

/**
 * An attempt to overwrite something that must never be overwritten, such as a stored key
 * (code `ALREADY_EXISTS`). The stored one stays intact.
 *
 * @example
 * ```ts
 * if (error instanceof AlreadyExistsError) console.error(`kept the existing key: ${error.message}`);
 * ```
 */
export class AlreadyExistsError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('ALREADY_EXISTS', message, options);
  }
}

/**
 * What was written does not read back the same (code `READ_BACK_MISMATCH`): a key is never
 * referred to until it reads back from the vault.
 *
 * @example
 * ```ts
 * if (error instanceof ReadBackError) console.error(`vault problem: ${error.message}`);
 * ```
 */
export class ReadBackError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('READ_BACK_MISMATCH', message, options);
  }
}

/**
 * A remote service (SES, S3, DNS, ...) failed; `context` names service, operation, region
 * and target, `retryable` says whether trying again later may help.
 *
 * @example
 * ```ts
 * if (error instanceof ServiceError && error.retryable) console.error(`try again later: ${error.message}`);
 * ```
 */
export class ServiceError extends ByodkimError {
  readonly retryable: boolean;
  constructor(
    code: string,
    message: string,
    options: { context?: ErrorContext; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(code, message, options);
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The call found no room in a service's API budget: throttled after its retries
 * (`<SERVICE>_THROTTLED`), or deferred by byodkim's own SES budget before a deadline
 * (`SES_DEFERRED`). The work is due again at the next pass: deferred, never a failure.
 *
 * @example
 * ```ts
 * if (isOverBudget(error)) console.error(`deferred to the next pass: ${error.message}`);
 * ```
 */
export function isOverBudget(error: unknown): error is ServiceError {
  return (
    error instanceof ServiceError && (error.code.endsWith('_THROTTLED') || error.code === 'SES_DEFERRED')
  );
}

/** Error codes of a vault key that cannot go to SES (the state records them as a key problem). */
export const KEY_MISMATCH = 'KEY_MISMATCH';
export const KEY_MISSING = 'KEY_MISSING';

/**
 * The vault's key for a selector is not the one the state recorded and DNS serves: putting
 * it in SES would leave SES pending on a key no record matches. Names the selector, never
 * the key.
 *
 * @example
 * ```ts
 * if (error instanceof KeyMismatchError) console.error(error.code, error.context.selector); // KEY_MISMATCH
 * ```
 */
export class KeyMismatchError extends ByodkimError {
  constructor(domain: string, selector: string, vault: string) {
    super(
      KEY_MISMATCH,
      `KeyMismatch: the private key ${vault} holds for ${domain} selector ${selector} is not the key whose public half the state recorded and DNS serves; not putting it in SES`,
      { context: { domain, selector, vault } },
    );
  }
}

/**
 * The vault has no key for a selector the state names as stored.
 *
 * @example
 * ```ts
 * if (error instanceof KeyMissingError) console.error(error.code, error.context.selector); // KEY_MISSING
 * ```
 */
export class KeyMissingError extends ByodkimError {
  constructor(domain: string, selector: string, vault: string) {
    super(KEY_MISSING, `KeyMissing: the private key of ${domain} selector ${selector} is not in ${vault}`, {
      context: { domain, selector, vault },
    });
  }
}

/**
 * Whether a thrown value is one of byodkim's errors (with `code`, `exitCode`, `context`).
 *
 * @example
 * ```ts
 * import { isByodkimError } from 'byodkim/core';
 *
 * process.exitCode = isByodkimError(error) ? error.exitCode : 1;
 * ```
 */
export function isByodkimError(error: unknown): error is ByodkimError {
  return error instanceof ByodkimError;
}

/**
 * A one-line description of any thrown value, safe to print (byodkim's messages never carry
 * key material).
 *
 * @example
 * ```ts
 * import { describeError } from 'byodkim/core';
 *
 * describeError(new Error('boom')); // 'boom'
 * describeError('plain string'); // 'plain string'
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
