/**
 * Reading the inputs of the SES v2 operations (SPEC.md §2): each parser names the field and
 * the rule it broke in a BadRequestException.
 */
import { badRequest } from './errors.js';
import type { Tag } from './identity.js';
import { BEHAVIORS_ON_MX_FAILURE, type BehaviorOnMxFailure } from './mail-from.js';
import { parseIdentityName } from './validation.js';

type Json = Record<string, unknown>;

export const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const NEXT_TOKEN_PREFIX = 'emu1.';

export function parseBehaviorOnMxFailure(value: unknown): BehaviorOnMxFailure {
  if (value === undefined || value === null) return 'USE_DEFAULT_VALUE';
  if (typeof value === 'string' && (BEHAVIORS_ON_MX_FAILURE as readonly string[]).includes(value)) {
    return value as BehaviorOnMxFailure;
  }
  throw badRequest(`BehaviorOnMxFailure must be one of ${BEHAVIORS_ON_MX_FAILURE.join(', ')}.`);
}

export function parseMailFromDomain(value: string): string {
  const parsed = parseIdentityName(value, 'MailFromDomain');
  if (parsed.type !== 'DOMAIN') throw badRequest(`MailFromDomain <${value}> must be a domain name.`);
  return parsed.key.endsWith('.') ? parsed.key.slice(0, -1) : parsed.key;
}

export function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string.`);
  return value;
}

export function optionalObject(value: unknown, field: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${field} must be an object.`);
  return value as Json;
}

export function parseTags(value: unknown): Tag[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('Tags must be a list.');
  return value.map((tag: unknown) => {
    const object = optionalObject(tag, 'Tags[]');
    const key = object?.Key;
    const tagValue = object?.Value;
    if (typeof key !== 'string' || key.length === 0 || typeof tagValue !== 'string') {
      throw badRequest('Each tag needs a non-empty Key and a Value.');
    }
    return { Key: key, Value: tagValue };
  });
}

export function parsePageSize(value: unknown): number {
  if (value === undefined || value === null || value === '') return DEFAULT_PAGE_SIZE;
  const size = typeof value === 'string' ? Number(value) : value;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badRequest(`PageSize must be an integer from 0 to ${MAX_PAGE_SIZE}.`);
  }
  return size === 0 ? DEFAULT_PAGE_SIZE : size;
}

export function encodeNextToken(lastKey: string): string {
  return NEXT_TOKEN_PREFIX + Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function parseNextToken(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !value.startsWith(NEXT_TOKEN_PREFIX)) {
    throw badRequest('NextToken is not valid.');
  }
  const key = Buffer.from(value.slice(NEXT_TOKEN_PREFIX.length), 'base64url').toString('utf8');
  if (key.length === 0) throw badRequest('NextToken is not valid.');
  return key;
}

export function parseFilter(value: unknown): { nameContains?: string; type?: string; status?: string } {
  const filter = optionalObject(value, 'Filter');
  if (filter === undefined) return {};
  const out: { nameContains?: string; type?: string; status?: string } = {};
  for (const [key, raw] of Object.entries(filter)) {
    const text = optionalString(raw, `Filter.${key}`);
    if (text === undefined) continue;
    if (key === 'IDENTITY_NAME_CONTAINS') out.nameContains = text;
    else if (key === 'IDENTITY_TYPE') out.type = text;
    else if (key === 'VERIFICATION_STATUS') out.status = text;
    else
      throw badRequest(
        `Filter key ${key} is not one of IDENTITY_NAME_CONTAINS, IDENTITY_TYPE, VERIFICATION_STATUS.`,
      );
  }
  return out;
}
