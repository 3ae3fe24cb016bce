import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DomainState } from '../../domain/state.js';
import { parseDomainState } from '../../domain/state-schema.js';
import { ConflictError, CorruptDataError, LockedError } from '../../errors.js';
import type { Lease, StateStore, Versioned } from '../../ports.js';
import { ensurePrivateDir, replaceFile, sweepAbandoned } from './fs-atomic.js';
import { onDisk } from './fs-errors.js';
import { LockFile } from './lock-file.js';

export interface FileStateStoreOptions {
  dir: string;
  /** Clock for lease expiry; the real clock by default. */
  now?: () => Date;
}

interface StateFile {
  version: number;
  state: DomainState;
}

/** How long the short lock around one compare-and-swap may live if its holder dies. */
const SAVE_LOCK_TTL_MS = 30_000;
/** A compare-and-swap takes milliseconds; wait this long for another one to finish. */
const SAVE_LOCK_WAIT_MS = 5_000;

async function acquireWaiting(lock: LockFile): Promise<void> {
  const deadline = Date.now() + SAVE_LOCK_WAIT_MS;
  for (;;) {
    try {
      await lock.acquire(SAVE_LOCK_TTL_MS, new Date());
      return;
    } catch (error) {
      if (!(error instanceof LockedError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
}

/**
 * One JSON file per domain, `<dir>/<domain>.json`, holding `{ version, state }`. A save
 * succeeds only if the version on disk is still the one the caller loaded (optimistic
 * concurrency), and replaces the file atomically. Leases are lock files beside it.
 */
export class FileStateStore implements StateStore {
  readonly description: string;
  readonly #dir: string;
  readonly #now: () => Date;

  constructor(options: FileStateStoreOptions) {
    this.#dir = resolve(options.dir);
    this.#now = options.now ?? (() => new Date());
    this.description = `file:${this.#dir}`;
  }

  #path(domain: string): string {
    return join(this.#dir, `${domain}.json`);
  }

  #saveLockPath(domain: string): string {
    return `${this.#path(domain)}.lock`;
  }

  async load(domain: string): Promise<Versioned<DomainState> | undefined> {
    const file = await this.#read(domain);
    return file ? { value: file.state, version: String(file.version) } : undefined;
  }

  async save(state: DomainState, expectedVersion: string | undefined): Promise<string> {
    await ensurePrivateDir(this.#dir);
    // One owner per save: two saves in one process must exclude each other too.
    const lock = new LockFile(
      this.#saveLockPath(state.domain),
      `save:${process.pid}:${randomBytes(6).toString('hex')}`,
    );
    await acquireWaiting(lock);
    try {
      const current = await this.#read(state.domain);
      const currentVersion = current ? String(current.version) : undefined;
      if (currentVersion !== expectedVersion) {
        throw new ConflictError(
          `state of ${state.domain} changed since it was read (expected version ${expectedVersion ?? 'none'}, found ${currentVersion ?? 'none'})`,
          { context: { domain: state.domain, expected: expectedVersion, found: currentVersion } },
        );
      }
      const next: StateFile = { version: (current?.version ?? 0) + 1, state };
      await replaceFile(this.#path(state.domain), `${JSON.stringify(next, null, 2)}\n`);
      return String(next.version);
    } finally {
      await lock.release();
    }
  }

  async listDomains(): Promise<string[]> {
    const names = await onDisk('list', this.#dir, async () => {
      try {
        return await readdir(this.#dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    });
    return names
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length))
      .sort();
  }

  async acquireLease(domain: string, owner: string, ttlMs: number): Promise<Lease> {
    await ensurePrivateDir(this.#dir);
    // A pass begins here: clear what a killed one left mid-write (temp files, locks moved aside).
    await sweepAbandoned(this.#dir);
    const lock = new LockFile(join(this.#dir, `${domain}.lease`), owner);
    await lock.acquire(ttlMs, this.#now());
    // A save killed while it held its lock: nobody else saves this domain while we hold its lease.
    await new LockFile(this.#saveLockPath(domain), 'lease holder').clearIfStale(new Date());
    const now = this.#now;
    return {
      domain,
      owner,
      get expiresAt() {
        return lock.expiresAt;
      },
      renew: () => lock.renew(ttlMs, now()),
      release: () => lock.release(),
    };
  }

  async #read(domain: string): Promise<StateFile | undefined> {
    const path = this.#path(domain);
    const text = await onDisk('read', path, async () => {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    });
    if (text === undefined) return undefined;
    try {
      const raw = JSON.parse(text) as { version?: unknown; state?: unknown };
      if (typeof raw.version !== 'number' || !Number.isInteger(raw.version))
        throw new Error('no integer "version"');
      return { version: raw.version, state: parseDomainState(raw.state, path) };
    } catch (cause) {
      throw new CorruptDataError(`state file ${path} is not valid byodkim state; it was left as it is`, {
        context: { domain, path },
        cause,
      });
    }
  }
}
