import { ByodkimError, StorageError } from '../../errors.js';

/**
 * Runs one file system operation and turns its failure into a StorageError that names
 * the operation and the path (Node's own errors name neither in a way a person can act
 * on: `ENOSPC: no space left on device, write`). Errors of the project pass through.
 */
export async function onDisk<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ByodkimError) throw error;
    throw new StorageError(operation, path, error);
  }
}

/** The errno code of a failed file system call (`ENOENT`, `EEXIST`, ...). */
export function errnoOf(error: unknown): string | undefined {
  const cause = error instanceof StorageError ? error.cause : error;
  return (cause as NodeJS.ErrnoException | undefined)?.code;
}
