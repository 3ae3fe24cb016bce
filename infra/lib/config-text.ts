import { Fn, Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The byodkim config the function reads, rendered as YAML text that may contain CloudFormation
 * tokens (bucket name, topic ARN, parameters).
 *
 * Each top-level key is written on its own line with a JSON flow value (JSON is YAML), so the
 * CLI's own `parseConfig` reads it unchanged and no YAML emitter has to understand tokens.
 *
 * The domain list has two forms:
 *
 * - concrete domains (CDK apps): plain JSON, each domain with its own regions;
 * - CloudFormation list parameters (`Domains`, `Regions`, the plain templates): every domain
 *   signs in every region. CloudFormation cannot repeat a computed value inside `Fn::Join`
 *   (delimiters must be literal), so the region list is written once with a YAML anchor on
 *   the first domain and referenced by an alias from the others:
 *
 *       [{"regions": &regions ["eu-west-1","us-east-1"], "domain": "a.example"},
 *        {"regions": *regions, "domain": "b.example"}]
 *
 *   The `yaml` package expands at most 100 aliases per document by default, which is why the
 *   plain templates document a limit of 100 domains (the IAM policy size limit is close anyway).
 */

/** One domain as written into the config (`domains[]` of the YAML config). */
export interface RenderedDomain {
  domain: string;
  regions: string[];
  createIdentity?: boolean;
  selectorPrefix?: string;
  policy?: Record<string, unknown>;
  dns?: Record<string, unknown>;
}

/** Every listed domain in every listed region; both lists may be CloudFormation list tokens. */
export interface DomainListTokens {
  names: string[];
  regions: string[];
}

export function isListTokens(value: unknown): value is DomainListTokens {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'names' in value;
}

/** A JSON flow value for a key; tokens inside strings are kept (Fn::Join at deploy time). */
export function jsonValue(scope: IConstruct, value: unknown): string {
  return Token.isUnresolved(value) || containsToken(value)
    ? Stack.of(scope).toJsonString(value)
    : JSON.stringify(value);
}

function containsToken(value: unknown): boolean {
  if (typeof value === 'string') return Token.isUnresolved(value);
  if (Array.isArray(value)) return value.some(containsToken);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(containsToken);
  return false;
}

/** The domains value: JSON for concrete domains, the anchor/alias form for list tokens. */
export function domainsValue(domains: readonly RenderedDomain[] | DomainListTokens): string {
  if (!isListTokens(domains)) return JSON.stringify(domains);
  const regions = `["${Fn.join('","', domains.regions)}"]`;
  return `[{"regions": &regions ${regions}, "domain": "${Fn.join('"}, {"regions": *regions, "domain": "', domains.names)}"}]`;
}

/** `key: value` lines, in order; values are already rendered (JSON or token strings). */
export function yamlLines(entries: ReadonlyArray<readonly [string, string]>): string {
  return entries.map(([key, value]) => `${key}: ${value}\n`).join('');
}
