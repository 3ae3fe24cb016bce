import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { normalizeDomain } from '../domain/domain-name.js';
import type { DomainSpec } from '../domain/lifecycle/index.js';
import { policySchema } from '../domain/policy.js';
import { formatZodIssues } from '../domain/zod-issues.js';
import { InputError } from '../errors.js';
import { type Config, configSchema, type DnsProviderConfig } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'byodkim.config.yaml';

/** One domain with every default and override applied: the core's spec plus how its DNS is reached. */
export interface ResolvedDomain extends DomainSpec {
  regions: string[];
  dns: DnsProviderConfig;
}

export interface LoadedConfig {
  /** Absolute path of the file read. */
  path: string;
  config: Config;
  domains: ResolvedDomain[];
}

/** Reads, parses and validates a config file. Errors name the file, the path inside it, and the value. */
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
  const raw: unknown = document.toJS() ?? {};
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
    const dns = d.dns ? resolveDnsPaths(d.dns, dirname(path)) : config.dns;
    return {
      domain,
      regions: d.regions,
      selectorPrefix: d.selectorPrefix ?? (domain.split('.')[0] as string),
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

/**
 * Finds a configured domain or fails with exit code 2 naming it, where it came from
 * (`field`: a CLI flag, an event field) and the ones known.
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
