import { InputError } from '../errors.js';

/**
 * DKIM selectors: naming from a template and SES's validation rule.
 *
 * The default template `{prefix}-{yyyymmdd}-{n}` reproduces the seed system's selectors
 * (`gooid-21-pro-20250917-3`): a fixed prefix, the UTC day the key was made, and a
 * sequence number that counts up for more selectors made on the same day.
 */

export const DEFAULT_SELECTOR_TEMPLATE = '{prefix}-{yyyymmdd}-{n}';

/** SES's rule for DomainSigningSelector (PutEmailIdentityDkimSigningAttributes). */
export const SES_SELECTOR_PATTERN = /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))$/;
export const SES_SELECTOR_RULE =
  '1–63 characters of letters, digits and hyphens, not starting or ending with a hyphen ' +
  '(SES pattern ^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]*[a-zA-Z0-9]))$)';
export const SELECTOR_MAX_LENGTH = 63;

const TOKENS = ['prefix', 'yyyymmdd', 'yyyy', 'mm', 'dd', 'n'] as const;
type Token = (typeof TOKENS)[number];

/**
 * Whether SES accepts `selector` as a BYODKIM selector: 1–63 letters, digits and hyphens,
 * not starting or ending with a hyphen.
 *
 * @example
 * ```ts
 * import { isValidSelector } from 'byodkim/core';
 *
 * isValidSelector('gooid-21-pro-20250917-3'); // true
 * isValidSelector('-bad'); // false
 * ```
 */
export function isValidSelector(selector: string): boolean {
  return (
    selector.length >= 1 && selector.length <= SELECTOR_MAX_LENGTH && SES_SELECTOR_PATTERN.test(selector)
  );
}

/** Throws an InputError naming the selector, the rule, and where the value came from. */
export function assertValidSelector(selector: string, where = 'selector'): void {
  if (!isValidSelector(selector)) {
    const why = selector.length > SELECTOR_MAX_LENGTH ? ` (it has ${selector.length} characters)` : '';
    throw new InputError(
      'SELECTOR_INVALID',
      `${where}: "${selector}" is not a valid SES selector${why}: ${SES_SELECTOR_RULE}`,
      {
        context: { selector, where },
      },
    );
  }
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function tokenValues(prefix: string, day: Date, n: number): Record<Token, string> {
  const yyyy = pad(day.getUTCFullYear(), 4);
  const mm = pad(day.getUTCMonth() + 1, 2);
  const dd = pad(day.getUTCDate(), 2);
  return { prefix, yyyymmdd: `${yyyy}${mm}${dd}`, yyyy, mm, dd, n: String(n) };
}

/** Checks that a template uses only known tokens and contains `{n}` (else names collide). */
export function assertValidTemplate(template: string, where = 'selectorTemplate'): void {
  for (const match of template.matchAll(/\{([^}]*)\}/g)) {
    if (!(TOKENS as readonly string[]).includes(match[1] ?? '')) {
      throw new InputError(
        'SELECTOR_TEMPLATE_INVALID',
        `${where}: "${template}" uses unknown token {${match[1]}}; known tokens: ${TOKENS.map((t) => `{${t}}`).join(', ')}`,
        {
          context: { template, where },
        },
      );
    }
  }
  if (!template.includes('{n}')) {
    throw new InputError(
      'SELECTOR_TEMPLATE_INVALID',
      `${where}: "${template}" must contain {n} so that two keys made on one day get different selectors`,
      {
        context: { template, where },
      },
    );
  }
}

/** A day with two-digit month and day, so a sample selector has the width of any real one. */
const SAMPLE_DAY = new Date(Date.UTC(2026, 11, 31));

/**
 * Checks that a template with this prefix makes valid SES selectors, by rendering samples
 * (the first key of a day and the tenth): a template like `{prefix}.{n}` or one too long
 * is refused when the config is loaded, not when the first key is made.
 */
export function assertTemplateRenders(template: string, prefix: string, where = 'selectorTemplate'): void {
  for (const n of [1, 10]) {
    const sample = renderSelector(template, prefix, SAMPLE_DAY, n);
    if (!isValidSelector(sample)) {
      const why = sample.length > SELECTOR_MAX_LENGTH ? ` (${sample.length} characters)` : '';
      throw new InputError(
        'SELECTOR_TEMPLATE_INVALID',
        `${where}: "${template}" makes selectors like "${sample}"${why}, which SES refuses: ${SES_SELECTOR_RULE}`,
        { context: { template, prefix, sample, where } },
      );
    }
  }
}

export function renderSelector(template: string, prefix: string, day: Date, n: number): string {
  const values = tokenValues(prefix, day, n);
  return template.replace(/\{([a-z]+)\}/g, (_, token: string) => values[token as Token] ?? `{${token}}`);
}

/**
 * The next selector for `day`: `{n}` is one more than the highest `n` already used on
 * that day by any selector in `existing` that this template produced, or 1. The template
 * defaults to `{prefix}-{yyyymmdd}-{n}`, the seed system's form.
 *
 * @throws {@link InputError} when the template is invalid or renders a selector SES refuses.
 * @example
 * ```ts
 * import { nextSelector } from 'byodkim/core';
 *
 * nextSelector({
 *   prefix: 'gooid-21-pro',
 *   day: new Date('2025-09-17T00:00:00Z'),
 *   existing: ['gooid-21-pro-20250917-1', 'gooid-21-pro-20250917-2'],
 * }); // 'gooid-21-pro-20250917-3'
 * ```
 */
export function nextSelector(options: {
  template?: string;
  prefix: string;
  day: Date;
  existing: Iterable<string>;
  where?: string;
}): string {
  const template = options.template ?? DEFAULT_SELECTOR_TEMPLATE;
  assertValidTemplate(template, options.where ? `${options.where}.selectorTemplate` : 'selectorTemplate');
  const used = new Set<number>();
  const matcher = templateMatcher(template, options.prefix, options.day);
  for (const selector of options.existing) {
    const n = matcher(selector);
    if (n !== undefined) used.add(n);
  }
  const n = used.size === 0 ? 1 : Math.max(...used) + 1;
  const selector = renderSelector(template, options.prefix, options.day, n);
  assertValidSelector(
    selector,
    options.where ? `${options.where} (from template "${template}")` : `selector from template "${template}"`,
  );
  return selector;
}

/** Builds a function that returns `n` if a selector was produced by the template on that day. */
function templateMatcher(
  template: string,
  prefix: string,
  day: Date,
): (selector: string) => number | undefined {
  const values = tokenValues(prefix, day, 0);
  let source = '';
  let last = 0;
  for (const match of template.matchAll(/\{([a-z]+)\}/g)) {
    source += escapeRegExp(template.slice(last, match.index));
    const token = match[1] as Token;
    source += token === 'n' ? '(?<n>[1-9][0-9]*)' : escapeRegExp(values[token]);
    last = (match.index ?? 0) + match[0].length;
  }
  source += escapeRegExp(template.slice(last));
  const regex = new RegExp(`^${source}$`, 'i');
  return (selector) => {
    const n = regex.exec(selector)?.groups?.n;
    return n === undefined ? undefined : Number(n);
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
