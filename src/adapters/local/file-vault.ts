import { mkdir, readdir, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DkimPrivateKey, importPrivateKey } from '../../domain/key.js';
import { assertValidSelector } from '../../domain/selector.js';
import { AlreadyExistsError, CorruptDataError, InputError, ReadBackError } from '../../errors.js';
import type { KeyVault } from '../../ports.js';
import { ensurePrivateDir, sweepAbandoned, writeNewFile } from './fs-atomic.js';
import { onDisk } from './fs-errors.js';

export interface FileKeyVaultOptions {
  dir: string;
  /** What happens to a retired key: destroyed (default) or moved under `.archive/`. */
  retired?: 'delete' | 'archive';
  now?: () => Date;
}

/**
 * Keys as files in the seed system's layout, `<dir>/<domain>/<selector>/private_key.pem`:
 * directories 0700, files 0600, written atomically, never overwritten, and read back
 * after writing. The embedded default; the AWS deployment uses the S3 vault.
 */
export class FileKeyVault implements KeyVault {
  readonly description: string;
  readonly #dir: string;
  readonly #retired: 'delete' | 'archive';
  readonly #now: () => Date;

  constructor(options: FileKeyVaultOptions) {
    this.#dir = resolve(options.dir);
    this.#retired = options.retired ?? 'delete';
    this.#now = options.now ?? (() => new Date());
    this.description = `file:${this.#dir}`;
  }

  pathOf(domain: string, selector: string): string {
    assertValidSelector(selector);
    if (!/^[a-z0-9.-]+$/.test(domain)) {
      throw new InputError('DOMAIN_INVALID', `domain "${domain}" cannot name a key directory`, {
        context: { domain },
      });
    }
    return join(this.#dir, domain, selector, 'private_key.pem');
  }

  async put(domain: string, selector: string, key: DkimPrivateKey): Promise<string> {
    const path = this.pathOf(domain, selector);
    await ensurePrivateDir(join(this.#dir, domain, selector));
    if (!(await writeNewFile(path, key.toPem(), 0o600))) {
      throw new AlreadyExistsError(
        `a key for selector ${selector} of ${domain} already exists at ${path}; keys are never overwritten`,
        {
          context: { domain, selector, path },
        },
      );
    }
    const back = await this.get(domain, selector);
    if (!back?.samePair(key)) {
      throw new ReadBackError(`the key written to ${path} does not read back as the same key`, {
        context: { domain, selector, path },
      });
    }
    return path;
  }

  async get(domain: string, selector: string): Promise<DkimPrivateKey | undefined> {
    const path = this.pathOf(domain, selector);
    const pem = await onDisk('read', path, async () => {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    });
    if (pem === undefined) return undefined;
    try {
      return importPrivateKey(pem, path);
    } catch (cause) {
      throw new CorruptDataError(`key file ${path} is not a usable private key; it was left as it is`, {
        context: { domain, selector, path },
        cause,
      });
    }
  }

  async retire(domain: string, selector: string): Promise<void> {
    const path = this.pathOf(domain, selector);
    await onDisk(this.#retired === 'archive' ? 'archive' : 'delete', path, async () => {
      try {
        if (this.#retired === 'archive') {
          const archiveDir = join(this.#dir, '.archive', domain);
          await mkdir(archiveDir, { recursive: true, mode: 0o700 });
          const stamp = this.#now().toISOString().replace(/[:.]/g, '');
          await rename(path, join(archiveDir, `${selector}-${stamp}.pem`));
        } else {
          await unlink(path);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    });
    await unlinkDirIfEmpty(join(this.#dir, domain, selector));
  }

  async list(domain: string): Promise<string[]> {
    const dir = join(this.#dir, domain);
    const entries = await onDisk('list', dir, async () => {
      try {
        return await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    });
    const selectors: string[] = [];
    for (const entry of entries.sort()) {
      // A put killed before its key appeared leaves a temp file with the key in it: gone
      // with its writer, and the selector's directory with it if nothing else is there.
      if ((await sweepAbandoned(join(dir, entry))).length > 0) await unlinkDirIfEmpty(join(dir, entry));
      try {
        await readFile(join(this.#dir, domain, entry, 'private_key.pem'), { flag: 'r' });
        selectors.push(entry);
      } catch {
        // not a key directory
      }
    }
    return selectors;
  }
}

async function unlinkDirIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => undefined);
}
