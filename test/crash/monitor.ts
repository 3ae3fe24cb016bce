/**
 * Watches the crash harness's world from outside the CLI and checks, with the shared
 * checks of test/support/invariants.ts:
 *
 *   1  at every switch (seen by the SES proxy): every nameserver serves the key, and did so
 *      when the pass began
 *   2  at every record removal on the primary (by the CLI or the DNS team) and in every
 *      removal handed to the DNS team: SES does not use it, grace is over
 *   3  the vault never loses a key SES uses or a nameserver still serves, never within
 *      grace, never overwrites one; SES is given exactly the key in the vault
 *   4  (the harness itself checks that every pass after a kill converges)
 *   5  no private key material in CLI output, state, notifications or hand-offs
 *
 * and, once a domain has converged, that nothing is left behind: every vault key and
 * every `_domainkey` record is named by the domain's state, and no temp or lock file stays.
 * Findings are de-duplicated by what they are about and keep the moment first seen.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type DkimPrivateKey, importPrivateKey } from '../../src/domain/key.js';
import {
  checkKeyDestroyed,
  checkRecordRemoval,
  checkSwitch,
  DAY_MS,
  findOrphans,
  isLiveKeyRecord,
  isRevocation,
  keyId,
  SecretIndex,
  type ServedAt,
  SesUsage,
} from '../support/invariants.js';
import { secretSlices } from '../support/keys.js';
import type { SesSwitch } from './ses-proxy.js';
import { type CliRun, type CrashWorld, NAMESERVERS, type SesRegionView } from './world.js';

export type FindingKind = 'violation' | 'orphan' | 'stray';

export interface Finding {
  kind: FindingKind;
  message: string;
  /** Where in the run it was first seen, e.g. `kill 12, 2026-01-03T04:00:00Z`. */
  firstSeen: string;
}

interface KnownKey {
  publicKey: string;
}

export class Monitor {
  readonly #world: CrashWorld;
  readonly #findings = new Map<string, Finding>();
  readonly #usage = new Map<string, SesUsage>();
  readonly #graceMs = new Map<string, number>();
  /** Keys in the vault as last seen, by `domain/selector`. */
  #vault = new Map<string, KnownKey>();
  /** Every key ever seen (vault or SES put), by public key: for the leak scan. */
  readonly #secrets = new SecretIndex();
  readonly #known = new Set<string>();
  /** Files already scanned, as `mtime:size`, so a pass reads only what changed. */
  readonly #scanned = new Map<string, string>();
  /** Primary records as last seen, by domain then selector. */
  #records = new Map<string, Map<string, string[]>>();
  /** What every nameserver served when the current pass began, by record name. */
  #passStart = new Map<string, ServedAt[]>();
  readonly #handOffsSeen = new Set<string>();
  #where = 'start';
  sesViews = new Map<string, SesRegionView[]>();

  constructor(world: CrashWorld) {
    this.#world = world;
    for (const d of world.options.domains) {
      this.#usage.set(d.domain, new SesUsage());
      this.#graceMs.set(d.domain, world.options.policy.graceDays * DAY_MS);
      this.#records.set(d.domain, new Map());
    }
  }

  /** Labels findings from now on (the kill number and the virtual time). */
  at(where: string): void {
    this.#where = where;
  }

  findings(kind?: FindingKind): Finding[] {
    return [...this.#findings.values()].filter((f) => kind === undefined || f.kind === kind);
  }

  report(kind: FindingKind, key: string, message: string): void {
    if (!this.#findings.has(`${kind}:${key}`))
      this.#findings.set(`${kind}:${key}`, { kind, message, firstSeen: this.#where });
  }

  get #domains(): string[] {
    return this.#world.options.domains.map((d) => d.domain);
  }

  #usageOf(domain: string): SesUsage {
    return this.#usage.get(domain) as SesUsage;
  }

  /** Time passed with SES unchanged: what it used, it still used. */
  timePassed(): void {
    for (const usage of this.#usage.values()) usage.stillInUse(this.#world.nowMs);
  }

  /** After the DNS team changed the zone (or anything else outside byodkim). */
  async dnsChanged(actor: string): Promise<void> {
    this.#checkRemovals(actor);
    await this.#checkGlobal();
  }

  /** Just before a pass: what SES uses and what DNS serves as the pass begins. */
  async beforePass(): Promise<void> {
    await this.#readSes();
    this.#passStart = new Map();
    for (const domain of this.#domains) {
      for (const selector of this.#world.records(domain).keys()) {
        const name = `${selector}._domainkey.${domain}`;
        this.#passStart.set(name, this.#world.servedAt(name));
      }
    }
  }

  /** SES is about to be pointed at a key (seen by the proxy before SES sees it). */
  async switching(change: SesSwitch): Promise<void> {
    const domain = change.identity;
    let publicKey: string;
    try {
      const key = importPrivateKey(change.privateKey, `SES request for ${change.selector}`);
      publicKey = key.publicKey;
      this.#remember(key);
    } catch {
      this.report(
        'violation',
        `unreadable-key:${domain}:${change.selector}`,
        `${domain}: SES ${change.region} was sent a private key for ${change.selector} that is not a readable key`,
      );
      return;
    }
    const name = `${change.selector}._domainkey.${domain}`;
    const problem = checkSwitch({
      region: change.region,
      selector: change.selector,
      publicKey,
      servedNow: this.#world.servedAt(name),
      servedBefore:
        this.#passStart.get(name) ?? NAMESERVERS.map((nameserver) => ({ nameserver, values: [] })),
    });
    if (problem)
      this.report('violation', `inv1:${domain}:${change.region}:${change.selector}`, `${domain}: ${problem}`);
    const stored = await this.#world.vault.get(domain, change.selector).catch(() => undefined);
    if (stored?.publicKey !== publicKey) {
      this.report(
        'violation',
        `inv3-put:${domain}:${change.selector}`,
        `${domain}: invariant 3: SES ${change.region} was given a key for ${change.selector} that the vault ${stored ? 'holds differently' : 'does not hold'}`,
      );
    }
  }

  /** SES accepted the switch: the region uses the selector from now on. */
  switched(change: SesSwitch): void {
    this.#usage.get(change.identity)?.note(change.region, change.selector, this.#world.nowMs);
  }

  /** After a pass (finished or killed): everything it may have changed. */
  async afterPass(run: CliRun): Promise<void> {
    await this.#readSes();
    await this.#checkVault();
    this.#checkRemovals('the CLI');
    await this.#checkHandOffs();
    await this.#checkGlobal();
    this.#scan(`CLI output (${run.killed ? 'killed run' : `exit ${run.code}`})`, run.stdout + run.stderr);
  }

  /** Once `domain` has converged: every key in the vault and every record in DNS is named by its state. */
  async domainConverged(domain: string): Promise<void> {
    const orphans = findOrphans({
      domain,
      state: await this.#world.loadState(domain),
      vaultSelectors: await this.#world.vault.list(domain),
      recordSelectors: [
        ...new Set([...this.#world.records(domain).keys(), ...this.#world.secondaryRecords(domain).keys()]),
      ],
    });
    for (const o of orphans) {
      this.report(
        'orphan',
        `${o.kind}:${o.domain}:${o.selector}`,
        `${o.domain}: orphan ${o.kind === 'key' ? 'key in the vault' : 'record in DNS'}: ${o.selector} (${o.named})`,
      );
    }
  }

  /**
   * After an unkilled pass (which leaves no temp or lock file of its own): no stray files
   * anywhere, and no key material in any file the CLI writes besides the vault.
   */
  async afterCleanPass(): Promise<void> {
    for (const file of await walk(this.#world.dir)) {
      const rel = relative(this.#world.dir, file);
      const base = rel.split('/').at(-1) ?? rel;
      // Temp files and locks moved aside (src/adapters/local/fs-atomic.ts scratchPathFor).
      if (base.startsWith('.') && base.endsWith('.tmp'))
        this.report('stray', rel, `temp file left behind: ${rel}`);
      else if (base.endsWith('.lease') || base.endsWith('.lock'))
        this.report('stray', rel, `lock file left after a clean pass: ${rel}`);
      if (!rel.startsWith('keys/') && rel !== 'tsig.key') {
        const info = await stat(file).catch(() => undefined);
        const seen = info === undefined ? undefined : `${info.mtimeMs}:${info.size}`;
        if (seen !== undefined && this.#scanned.get(rel) !== seen) {
          this.#scanned.set(rel, seen);
          this.#scan(rel, await readFile(file, 'utf8').catch(() => ''));
        }
      }
    }
  }

  /** `domain` on one active key, used by SES in every region with SUCCESS and signing on. */
  async settled(domain: string): Promise<boolean> {
    const state = await this.#world.loadState(domain);
    const active = state?.keys.filter((k) => k.status === 'active') ?? [];
    if (active.length !== 1) return false;
    const views = this.sesViews.get(domain) ?? [];
    return views.every(
      (v) => v.selector === active[0]?.selector && v.status === 'SUCCESS' && v.signingEnabled,
    );
  }

  async #readSes(): Promise<void> {
    const now = this.#world.nowMs;
    for (const domain of this.#domains) {
      const views = await Promise.all(
        this.#world.options.regions.map((region) => this.#world.sesView(domain, region)),
      );
      this.sesViews.set(domain, views);
      for (const view of views) this.#usageOf(domain).note(view.region, view.selector, now);
    }
  }

  /** Keys that appeared, changed or went since the last look (invariant 3). */
  async #checkVault(): Promise<void> {
    const now = new Map<string, KnownKey>();
    for (const domain of this.#domains) {
      for (const selector of await this.#world.vault.list(domain)) {
        const key = await this.#world.vault.get(domain, selector).catch(() => undefined);
        if (key === undefined) continue;
        const id = `${domain}/${selector}`;
        now.set(id, { publicKey: key.publicKey });
        this.#remember(key);
        const before = this.#vault.get(id);
        if (before !== undefined && before.publicKey !== key.publicKey) {
          this.report(
            'violation',
            `inv3-overwrite:${id}`,
            `${domain}: invariant 3: the key of ${selector} was overwritten (${keyId(before.publicKey)} → ${keyId(key.publicKey)})`,
          );
        }
      }
    }
    for (const [id, gone] of this.#vault) {
      if (now.has(id)) continue;
      const [domain = '', selector = ''] = id.split('/');
      const problems = checkKeyDestroyed({
        selector,
        nowMs: this.#world.nowMs,
        usage: this.#usageOf(domain),
        graceMs: this.#graceMs.get(domain) ?? 0,
        emergency: false,
        served: this.#world.servedAt(`${selector}._domainkey.${domain}`),
      });
      if (problems.length > 0)
        this.report(
          'violation',
          `inv3-destroy:${id}`,
          `${domain}: ${problems.join('; ')} (key ${keyId(gone.publicKey)})`,
        );
    }
    this.#vault = now;
  }

  /** Records that disappeared from (or were revoked on) the primary since the last look (invariant 2). */
  #checkRemovals(actor: string): void {
    for (const domain of this.#domains) {
      const before = this.#records.get(domain) ?? new Map<string, string[]>();
      const after = this.#world.records(domain);
      for (const [selector, values] of before) {
        const now = after.get(selector) ?? [];
        for (const value of values.filter(isLiveKeyRecord)) {
          if (now.includes(value)) continue;
          const revocation = now.some(isRevocation);
          const problem = checkRecordRemoval({
            selector,
            revocation,
            atMs: this.#world.nowMs,
            usage: this.#usageOf(domain),
            graceMs: this.#graceMs.get(domain) ?? 0,
            emergency: false,
          });
          if (problem)
            this.report('violation', `inv2:${domain}:${selector}`, `${domain}: ${problem} (by ${actor})`);
        }
      }
      this.#records.set(domain, after);
    }
  }

  /** New requests to the DNS team: removals dated after grace, additions of stored keys only. */
  async #checkHandOffs(): Promise<void> {
    const dir = join(this.#world.dir, 'dns-requests');
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    } catch {
      return;
    }
    for (const file of files) {
      if (this.#handOffsSeen.has(file)) continue;
      this.#handOffsSeen.add(file);
      const text = await readFile(join(dir, file), 'utf8');
      this.#scan(`hand-off ${file}`, text);
      let records: Array<{
        action?: string;
        domain?: string;
        selector?: string;
        value?: string;
        notBefore?: string;
      }>;
      try {
        records = JSON.parse(text);
      } catch {
        this.report('violation', `handoff-unreadable:${file}`, `hand-off ${file} is not valid JSON`);
        continue;
      }
      for (const r of records) {
        const domain = r.domain ?? '';
        const selector = r.selector ?? '';
        if (r.action === 'remove') {
          const problem = checkRecordRemoval({
            selector,
            revocation: false,
            atMs: r.notBefore ? Date.parse(r.notBefore) : this.#world.nowMs,
            usage: this.#usageOf(domain),
            graceMs: this.#graceMs.get(domain) ?? 0,
            emergency: false,
          });
          if (problem)
            this.report(
              'violation',
              `inv2-handoff:${domain}:${selector}`,
              `${domain}: ${problem} (hand-off ${file})`,
            );
        } else if (r.action === 'add' && r.value !== undefined && isLiveKeyRecord(r.value)) {
          const stored = this.#vault.get(`${domain}/${selector}`);
          if (stored === undefined || !r.value.includes(stored.publicKey)) {
            this.report(
              'violation',
              `inv3-handoff:${domain}:${selector}`,
              `${domain}: invariant 3: hand-off ${file} asks to publish ${selector}, whose key the vault ${stored ? 'holds differently' : 'does not hold'}`,
            );
          }
        }
      }
    }
  }

  /**
   * What must hold at every moment: a record any nameserver serves has its private key in
   * the vault (stored before published, destroyed only after the record is gone), and so
   * does the selector SES signs with in every region.
   */
  async #checkGlobal(): Promise<void> {
    for (const domain of this.#domains) {
      const keys = new Map<string, string>();
      for (const selector of await this.#world.vault.list(domain)) {
        const key = await this.#world.vault.get(domain, selector).catch(() => undefined);
        if (key) keys.set(selector, key.publicKey);
      }
      const served: Array<[string, Map<string, string[]>]> = [
        ['ns1', this.#world.records(domain)],
        ['ns2', this.#world.secondaryRecords(domain)],
      ];
      const unbacked = new Map<string, string[]>();
      for (const [ns, records] of served) {
        for (const [selector, values] of records) {
          const publicKey = keys.get(selector);
          if (values.filter(isLiveKeyRecord).some((v) => publicKey === undefined || !v.includes(publicKey)))
            unbacked.set(selector, [...(unbacked.get(selector) ?? []), ns]);
        }
      }
      for (const [selector, nameservers] of unbacked) {
        this.report(
          'violation',
          `inv3-served:${domain}:${selector}`,
          `${domain}: invariant 3: ${nameservers.join(' and ')} serve${nameservers.length === 1 ? 's' : ''} the record of ${selector}, but the vault ${keys.has(selector) ? 'holds another key' : 'holds no key'} for it`,
        );
      }
      for (const view of this.sesViews.get(domain) ?? []) {
        if (view.selector !== undefined && !keys.has(view.selector)) {
          this.report(
            'violation',
            `inv3-ses:${domain}:${view.region}:${view.selector}`,
            `${domain}: invariant 3: SES ${view.region} signs with ${view.selector}, whose key is not in the vault`,
          );
        }
      }
    }
  }

  #remember(key: DkimPrivateKey): void {
    if (this.#known.has(key.publicKey)) return;
    this.#known.add(key.publicKey);
    this.#secrets.add(key.publicKey, secretSlices(key));
  }

  /** Invariant 5: no key material in `text`. Names the key by a hash of its public half only. */
  #scan(where: string, text: string): void {
    if (text === '') return;
    for (const publicKey of this.#secrets.find(text)) {
      this.report(
        'violation',
        `inv5:${where}:${publicKey}`,
        `invariant 5: private key material (key ${keyId(publicKey)}) in ${where}`,
      );
    }
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}
