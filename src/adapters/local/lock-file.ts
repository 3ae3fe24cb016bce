import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { leaseHolds } from '../../domain/lease.js';
import { LockedError } from '../../errors.js';
import { processAlive, scratchPathFor, writeNewFile } from './fs-atomic.js';
import { onDisk } from './fs-errors.js';

interface LockBody {
  owner: string;
  token: string;
  host: string;
  pid: number;
  expiresAt: string;
}

/**
 * A lock file with an expiry: created with O_EXCL semantics (link), so exactly one of two
 * racing processes gets it. A lock whose expiry has passed, or whose process is gone on
 * this host, is stale: it is moved aside with rename (only one racer's rename succeeds)
 * and taken. The same owner can re-take its own lock (as the StateStore port promises: only
 * "someone else" is refused), so owners must name one actor each; renew and release act
 * only for the acquisition that holds the lock now (by its token).
 */
export class LockFile {
  readonly #path: string;
  readonly #owner: string;
  readonly #token = randomBytes(8).toString('hex');
  #expiresAt = new Date(0);

  constructor(path: string, owner: string) {
    this.#path = path;
    this.#owner = owner;
  }

  get expiresAt(): Date {
    return this.#expiresAt;
  }

  async acquire(ttlMs: number, now: Date): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = this.#body(ttlMs, now);
      if (await writeNewFile(this.#path, JSON.stringify(body))) {
        this.#expiresAt = new Date(body.expiresAt);
        return;
      }
      const current = await this.#read();
      if (current && current.owner === this.#owner) {
        await this.#write(ttlMs, now);
        return;
      }
      if (current && !isStale(current, now)) {
        throw new LockedError(`${this.#path} is held by ${current.owner} until ${current.expiresAt}`, {
          context: { lock: this.#path, holder: current.owner, expiresAt: current.expiresAt },
        });
      }
      // Stale or unreadable: move it aside; if another process already did, just retry.
      await this.#moveAside();
    }
    throw new LockedError(`could not take ${this.#path}: another process keeps taking it`, {
      context: { lock: this.#path },
    });
  }

  /** Removes the lock if its holder is gone or its time is up; a live holder's lock stays. */
  async clearIfStale(now: Date): Promise<void> {
    const current = await this.#read();
    if (current && isStale(current, now)) await this.#moveAside();
  }

  /** Only one racer's rename succeeds; the others find the lock gone. */
  async #moveAside(): Promise<void> {
    const aside = scratchPathFor(this.#path);
    try {
      await rename(this.#path, aside);
      await unlink(aside).catch(() => undefined);
    } catch {
      // someone else moved it first
    }
  }

  async renew(ttlMs: number, now: Date): Promise<void> {
    const current = await this.#read();
    if (!current || current.token !== this.#token) {
      throw new LockedError(`${this.#path} is no longer held by ${this.#owner}`, {
        context: { lock: this.#path },
      });
    }
    await this.#write(ttlMs, now);
  }

  async release(): Promise<void> {
    const current = await this.#read();
    if (current?.token === this.#token) await unlink(this.#path).catch(() => undefined);
  }

  async #write(ttlMs: number, now: Date): Promise<void> {
    const body = this.#body(ttlMs, now);
    await onDisk('write', this.#path, () => writeFile(this.#path, JSON.stringify(body), { mode: 0o600 }));
    this.#expiresAt = new Date(body.expiresAt);
  }

  #body(ttlMs: number, now: Date): LockBody {
    return {
      owner: this.#owner,
      token: this.#token,
      host: hostname(),
      pid: process.pid,
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    };
  }

  async #read(): Promise<LockBody | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.#path, 'utf8')) as Partial<LockBody>;
      if (typeof parsed.owner !== 'string' || typeof parsed.expiresAt !== 'string') return undefined;
      return parsed as LockBody;
    } catch {
      return undefined;
    }
  }
}

function isStale(lock: LockBody, now: Date): boolean {
  // Expired, or written by a clock far ahead of ours (`--now 2030…`, a skewed host).
  if (!leaseHolds(lock.expiresAt, now)) return true;
  // The real clock too: a virtual clock (tests, --now) must not keep a dead lock alive.
  if (lock.host === hostname() && lock.pid !== process.pid && !processAlive(lock.pid)) return true;
  return false;
}
