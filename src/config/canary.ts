/**
 * A domain's canary from the config: the top-level `canary` with the domain's override
 * merged in, checked whole (errors name `canary.<field>` or `domains[i].canary.<field>`), and
 * turned into the core's CanarySpec plus where its inbox is.
 */
import { isAbsolute, resolve } from 'node:path';
import type { CanarySpec } from '../domain/canary.js';
import { formatZodIssues } from '../domain/zod-issues.js';
import { InputError } from '../errors.js';
import { type CanaryConfig, type CanaryInboxConfig, canarySchema, type DomainConfig } from './schema.js';

const HOUR_MS = 3_600_000;
const DEFAULT_FROM = 'byodkim-canary@{domain}';

export function resolveCanary(
  global: CanaryConfig | undefined,
  override: DomainConfig['canary'],
  where: { path: string; index: number; domain: string; base: string },
): { canary?: CanarySpec; canaryInbox?: CanaryInboxConfig } {
  if (override === false || (global === undefined && override === undefined)) return {};
  const field = override === undefined ? 'canary' : `domains[${where.index}].canary`;
  const merged = { ...(global ?? {}), ...(override ?? {}) };
  const parsed = canarySchema.safeParse(merged);
  if (!parsed.success) {
    throw new InputError(
      'CONFIG_INVALID',
      `${where.path}: invalid config\n${formatZodIssues(parsed.error.issues, merged).replace(/^/gm, `${field}.`)}`,
      { context: { path: where.path } },
    );
  }
  const c = parsed.data;
  const from = (c.from ?? DEFAULT_FROM).replace('{domain}', where.domain);
  const fromDomain = from.slice(from.lastIndexOf('@') + 1).toLowerCase();
  if (fromDomain !== where.domain && !fromDomain.endsWith(`.${where.domain}`)) {
    throw new InputError(
      'CONFIG_INVALID',
      `${where.path}: invalid config\n${field}.from: "${from}" is not an address on ${where.domain}: the canary must be sent as the domain SES signs for`,
      { context: { path: where.path, field: `${field}.from`, value: from } },
    );
  }
  const inbox =
    c.inbox.type === 'imap' && c.inbox.passwordFile !== undefined && !isAbsolute(c.inbox.passwordFile)
      ? { ...c.inbox, passwordFile: resolve(where.base, c.inbox.passwordFile) }
      : c.inbox;
  return {
    canary: {
      from,
      to: c.to,
      intervalMs: c.intervalHours * HOUR_MS,
      switchIntervalMs: c.switchIntervalMinutes * 60_000,
      retentionMs: c.retentionHours * HOUR_MS,
    },
    canaryInbox: inbox,
  };
}
