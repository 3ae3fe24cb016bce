import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

/** Whether process `pid` exists on this host (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This host, short enough for a file name: a writer's pid means something only on its own host. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/**
 * A fresh name beside `path` for a file that only exists while one process works on it
 * (a temp file, a stale lock moved aside): `.<name>.<host>-<pid>-<random>.tmp`, so that
 * once the writer is gone (killed mid-write) `sweepAbandoned` can tell it left it behind.
 */
export function scratchPathFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`,
  );
}

const SCRATCH = /^\..+\.([0-9a-f]{8})-(\d+)-[0-9a-f]{12}\.tmp$/;

/**
 * Removes the scratch files in `dir` whose writer, a process of this host, no longer runs:
 * a write killed between its temp file and the rename leaves one (for a vault, with a
 * private key in it). A live writer's files, this process's own and other hosts' are left
 * alone. Returns the names removed.
 */
export async function sweepAbandoned(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = SCRATCH.exec(name);
    if (match === null || match[1] !== HOST_TAG) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch {
      // another sweeper got it first
    }
  }
  return removed;
}

/**
 * Writes `data` to a fresh temp file beside `path` and syncs it. On any failure (disk full,
 * read-only, quota) the temp file is removed and the error names `path`, so a failed write
 * leaves nothing behind.
 */
async function writeTemp(path: string, data: string, mode: number): Promise<string> {
  const temp = scratchPathFor(path);
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
