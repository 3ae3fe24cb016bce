import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { accountLabel, OWN_ACCOUNT } from '../domain/account.js';
import { normalizeDomain } from '../domain/domain-name.js';
import type { DomainSpec } from '../domain/lifecycle/index.js';
import { policySchema } from '../domain/policy.js';
import { assertTemplateRenders, assertValidSelector } from '../domain/selector.js';
import { formatZodIssues } from '../domain/zod-issues.js';
import { InputError } from '../errors.js';
import { resolveCanary } from './canary.js';
import { type CanaryInboxConfig, type Config, configSchema, type DnsProviderConfig } from './schema.js';

/** The config file the CLI reads when no `--config` is given, in the working directory. */
export const DEFAULT_CONFIG_FILE = 'byodkim.config.yaml';

/** The YAML library's own default: the nodes one alias may expand to, relative to the document. */
const MAX_ALIAS_EXPANSION = 100;

/** One domain with every default and override applied: the core's spec plus how its DNS is reached. */
export interface ResolvedDomain extends DomainSpec {
  regions: string[];
  /** The `accounts` entry whose SES holds the identity; undefined: the caller's own account. */
  account?: string;
  dns: DnsProviderConfig;
  /** Where this domain's canaries are read (with `canary`). */
  canaryInbox?: CanaryInboxConfig;
}

/** A checked config: the file it came from, the config with defaults applied, and each domain resolved. */
export interface LoadedConfig {
  /** Absolute path of the file read. */
  path: string;
  config: Config;
  domains: ResolvedDomain[];
}

/**
 * Reads, parses and validates a config file. Errors name the file, the path inside it, and
 * the value. Relative paths in the config (file vault, state, hand-off directory) resolve
 * against the file's directory.
 *
 * @throws {@link InputError} `CONFIG_NOT_FOUND`, `CONFIG_UNREADABLE`, `CONFIG_YAML` or `CONFIG_INVALID`.
 * @example
 * ```ts
 * import { InputError, loadConfig } from 'byodkim/core';
 *
 * try {
 *   const loaded = await loadConfig('byodkim.config.yaml');
 *   for (const d of loaded.domains) console.log(d.domain, d.regions, d.policy.validityDays);
 * } catch (error) {
 *   if (error instanceof InputError) console.error(error.code, error.message); // e.g. CONFIG_INVALID
 *   else throw error;
 * }
 * ```
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(
        'CONFIG_NOT_FOUND',
        `config file ${path} does not exist (create one with "byodkim init", or pass --config FILE)`,
        {
          context: { path },
        },
      );
    }
    throw new InputError(
      'CONFIG_UNREADABLE',
      `config file ${path} cannot be read: ${(error as Error).message}`,
      { context: { path } },
    );
  }
  return parseConfig(text, absolute);
}

/**
 * Parses and validates config text (YAML; JSON is YAML too) as if read from `path`: `path`
 * names the source in errors and is the base of relative paths. The Lambda function reads
 * its config this way.
 *
 * @throws {@link InputError} `CONFIG_YAML` or `CONFIG_INVALID`, naming the place and the value.
 * @example
 * ```ts
 * import { parseConfig } from 'byodkim/core';
 *
 * const loaded = parseConfig(
 *   'version: 1\ndomains:\n  - { domain: example.com, regions: [us-east-1] }\n',
 *   '/etc/byodkim/byodkim.config.yaml',
 * );
 * loaded.domains[0].selectorPrefix; // 'example'
 * ```
 */
export function parseConfig(text: string, path: string): LoadedConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    const where = first?.linePos?.[0] ? `${path}:${first.linePos[0].line}:${first.linePos[0].col}` : path;
    throw new InputError(
      'CONFIG_YAML',
      `${where}: not valid YAML: ${first?.message.split('\n')[0] ?? 'parse error'}`,
      { context: { path } },
    );
  }
  let raw: unknown;
  try {
    // Aliases are fine for sharing a block; a few aliases that expand to millions of nodes
    // (a "billion laughs" file) are refused before they take the memory.
    raw = document.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }) ?? {};
  } catch (error) {
    throw new InputError(
      'CONFIG_YAML',
      `${path}: YAML aliases expand too far (${(error as Error).message}); write the repeated parts out or use fewer aliases`,
      { context: { path } },
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InputError('CONFIG_INVALID', `${path}: the config must be a mapping with a "domains" list`, {
      context: { path },
    });
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new InputError(
      'CONFIG_INVALID',
      `${path}: invalid config\n${formatZodIssues(result.error.issues, raw)}`,
      { context: { path } },
    );
  }
  const config = withResolvedPaths(result.data, dirname(path));
  const domains = config.domains.map((d, index): ResolvedDomain => {
    const merged = policySchema.safeParse({ ...config.policy, ...(d.policy ?? {}) });
    if (!merged.success) {
      throw new InputError(
        'CONFIG_INVALID',
        `${path}: invalid config\n${formatZodIssues(merged.error.issues, { ...config.policy, ...d.policy }).replace(/^/gm, `domains[${index}].policy.`)}`,
        {
          context: { path },
        },
      );
    }
    const domain = normalizeDomain(d.domain, `domains[${index}].domain`);
    const selectorPrefix = d.selectorPrefix ?? (domain.split('.')[0] as string);
    try {
      // The selectors this domain will get, checked now rather than when its first key is made.
      if (d.delegation)
        assertValidSelector(
          `${selectorPrefix}-a`,
          `domains[${index}]: delegated selector from selectorPrefix`,
        );
      else
        assertTemplateRenders(
          merged.data.selectorTemplate,
          selectorPrefix,
          `domains[${index}]: selectorPrefix "${selectorPrefix}" with selectorTemplate`,
        );
    } catch (error) {
      throw new InputError('CONFIG_INVALID', `${path}: invalid config\n${(error as Error).message}`, {
        context: { path },
      });
    }
    const dns = d.dns ? resolveDnsPaths(d.dns, dirname(path)) : config.dns;
    assertGraceCoversDelivery(merged.data.graceDays, dns.ttl, {
      path,
      field: d.policy?.graceDays === undefined ? 'policy.graceDays' : `domains[${index}].policy.graceDays`,
      domain,
    });
    const canary = resolveCanary(config.canary, d.canary, { path, index, domain, base: dirname(path) });
    const regions = d.regions ?? config.accounts?.find((a) => a.name === d.account)?.regions ?? [];
    return {
      domain,
      ...canary,
      regions: [...regions],
      ...(d.account === undefined ? {} : { account: d.account }),
      selectorPrefix,
      createIdentity: d.createIdentity,
      policy: merged.data,
      dns,
      dnsMode: dns.provider === 'manual' ? 'manual' : 'automatic',
      ttl: dns.ttl,
      ...(d.delegation
        ? {
            delegation: {
              ...d.delegation,
              zone: normalizeDomain(d.delegation.zone, `domains[${index}].delegation.zone`),
            },
          }
        : {}),
    };
  });
  return { path, config, domains };
}

/** SES may deliver a message up to 14 hours after accepting it (MaxDeliverySeconds ≤ 50,400). */
const SES_MAX_DELIVERY_SECONDS = 50_400;

/**
 * An old selector must stay published until the last message signed with it can have been
 * delivered and checked: SES's 14 hours of retries plus the record's TTL in resolvers'
 * caches (SES-REALITY.md §6). A shorter grace period is a config error, not a silent risk.
 */
function assertGraceCoversDelivery(
  graceDays: number,
  ttl: number,
  where: { path: string; field: string; domain: string },
): void {
  const floorDays = (SES_MAX_DELIVERY_SECONDS + ttl) / 86_400;
  if (graceDays >= floorDays) return;
  throw new InputError(
    'CONFIG_INVALID',
    `${where.path}: invalid config\n${where.field}: "${graceDays}" is too short for ${where.domain}: SES may deliver a message up to 14 hours after accepting it, and resolvers keep the record for its TTL (${ttl} s), so the old selector must stay published at least ${floorDays.toFixed(2)} days`,
    { context: { path: where.path, field: where.field, value: graceDays } },
  );
}

/**
 * Finds a configured domain (normalized: case, trailing dot) or fails with exit code 2
 * naming it, where it came from (`field`: a CLI flag, an event field) and the ones known.
 *
 * @throws {@link InputError} `DOMAIN_UNKNOWN`.
 * @example
 * ```ts
 * import { findDomain, loadConfig } from 'byodkim/core';
 *
 * const domain = findDomain(await loadConfig('byodkim.config.yaml'), 'Example.COM.', 'argv[2]');
 * domain.domain; // 'example.com'
 * ```
 */
export function findDomain(loaded: LoadedConfig, domain: string, field: string): ResolvedDomain {
  const normalized = normalizeDomain(domain, field);
  const found = loaded.domains.find((d) => d.domain === normalized);
  if (!found) {
    const known = loaded.domains.map((d) => d.domain).join(', ') || 'none';
    throw new InputError(
      'DOMAIN_UNKNOWN',
      `${field}: "${domain}" is not configured in ${loaded.path} (configured: ${known})`,
      {
        context: { domain },
      },
    );
  }
  return found;
}

/**
 * The domains of one account: an `accounts[].name`, or `own` for the caller's own account
 * (domains that name none). Fails with exit code 2 naming the value, where it came from
 * (`field`: a CLI flag, an event field) and the accounts known.
 *
 * @throws {@link InputError} `ACCOUNT_UNKNOWN`.
 * @example
 * ```ts
 * import { accountDomains, loadConfig } from 'byodkim/core';
 *
 * const domains = accountDomains(await loadConfig('byodkim.config.yaml'), 'brand-a', '--account');
 * ```
 */
export function accountDomains(loaded: LoadedConfig, account: string, field: string): ResolvedDomain[] {
  const names = (loaded.config.accounts ?? []).map((a) => a.name);
  if (account !== OWN_ACCOUNT && !names.includes(account)) {
    throw new InputError(
      'ACCOUNT_UNKNOWN',
      `${field}: "${account}" is not an account of ${loaded.path} (accounts: ${[OWN_ACCOUNT, ...names].join(', ')})`,
      { context: { field, value: account } },
    );
  }
  return loaded.domains.filter((d) => accountLabel(d.account) === account);
}

function withResolvedPaths(config: Config, base: string): Config {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    keys: config.keys.type === 'file' ? { ...config.keys, dir: at(config.keys.dir) } : config.keys,
    state: config.state.type === 'file' ? { ...config.state, dir: at(config.state.dir) } : config.state,
    dns: resolveDnsPaths(config.dns, base),
    notify: config.notify.map((n) => (n.type === 'file' ? { ...n, path: at(n.path) } : n)),
  };
}

function resolveDnsPaths(dns: DnsProviderConfig, base: string): DnsProviderConfig {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  if (dns.provider === 'manual') return { ...dns, outDir: at(dns.outDir) };
  if (dns.provider === 'rfc2136' && dns.tsig.secretFile)
    return { ...dns, tsig: { ...dns.tsig, secretFile: at(dns.tsig.secretFile) } };
  return dns;
}
