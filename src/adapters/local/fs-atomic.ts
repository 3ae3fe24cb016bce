import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StorageError } from '../../errors.js';
import { onDisk } from './fs-errors.js';

/** Creates `dir` (and parents) private to the owner. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await onDisk('create the directory', dir, () => mkdir(dir, { recursive: true, mode: 0o700 }));
}

/**
 * Creates `dir` (and parents) readable by others but writable only by the owner, whatever
 * the umask: for files meant to be shared (a DNS team's requests), never for secrets.
 */
export async function ensureSharedDir(dir: string): Promise<void> {
  await onDisk('create the directory', dir, () => mkdir(dir, { recursive: true, mode: 0o755 }));
}

/**
 * Writes `data` to a fresh temp file beside `path` and syncs it. On any failure (disk full,
 * read-only, quota) the temp file is removed and the error names `path`, so a failed write
 * leaves nothing behind.
 */
async function writeTemp(path: string, data: string, mode: number): Promise<string> {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await onDisk('write', path, () =>
    open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode),
  );
  try {
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw new StorageError('write', path, error);
  }
  return temp;
}

/**
 * Writes `data` to `path` only if `path` does not exist yet: the data goes to a temp file
 * first, then a hard link makes it appear whole under its name (link fails with EEXIST
 * instead of replacing, unlike rename). Returns false if the file already existed.
 */
export async function writeNewFile(path: string, data: string, mode = 0o600): Promise<boolean> {
  const temp = await writeTemp(path, data, mode);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StorageError('write', path, error);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Replaces `path` atomically (temp file + rename): readers see the old or the new file, never half. */
export async function replaceFile(path: string, data: string, mode = 0o600): Promise<void> {
  const temp = await writeTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new StorageError('replace', path, error);
  }
}
