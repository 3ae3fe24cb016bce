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

export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

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

/** Bad input from a user: config, flags, files. Exit code 2, nothing changed. */
export class InputError extends ByodkimError {
  constructor(code: string, message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: ExitCode.badInput });
  }
}

/** A stored file or record that cannot be read as what it should be. Left untouched. */
export class CorruptDataError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('CORRUPT_DATA', message, options);
  }
}

/** Optimistic concurrency: someone else saved first. */
export class ConflictError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('CONFLICT', message, options);
  }
}

/** A lease/lock on a domain is held by another actor. */
export class LockedError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('LOCKED', message, options);
  }
}

/** An attempt to overwrite something that must never be overwritten (a stored key). */
export class AlreadyExistsError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('ALREADY_EXISTS', message, options);
  }
}

/** What was written does not read back the same. */
export class ReadBackError extends ByodkimError {
  constructor(message: string, options: { context?: ErrorContext; cause?: unknown } = {}) {
    super('READ_BACK_MISMATCH', message, options);
  }
}

/** A remote service (SES, S3, DNS, ...) failed; context names service, operation, region, target. */
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

/** Error codes of a vault key that cannot go to SES (the state records them as a key problem). */
export const KEY_MISMATCH = 'KEY_MISMATCH';
export const KEY_MISSING = 'KEY_MISSING';

/**
 * The vault's key for a selector is not the one the state recorded and DNS serves: putting
 * it in SES would leave SES pending on a key no record matches. Names the selector, never
 * the key.
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

/** The vault has no key for a selector the state names as stored. */
export class KeyMissingError extends ByodkimError {
  constructor(domain: string, selector: string, vault: string) {
    super(KEY_MISSING, `KeyMissing: the private key of ${domain} selector ${selector} is not in ${vault}`, {
      context: { domain, selector, vault },
    });
  }
}

export function isByodkimError(error: unknown): error is ByodkimError {
  return error instanceof ByodkimError;
}

/** A one-line description of any thrown value, safe to print. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
