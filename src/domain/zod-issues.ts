import type { z } from 'zod';

/** `domains[2].regions[0]` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** The value found at `path` in `input`, shown short, for error messages. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

export function showValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One line per problem, each naming the path and the bad value:
 * `domains[2].regions[0]: "ap-northeast-9" is not an SES region`.
 */
export function formatZodIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const where = formatPath(issue.path);
        return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      const value = valueAt(input, issue.path);
      const message = issue.message;
      // Custom messages already start with the value; built-in ones get it appended.
      return message.startsWith('"') || value === undefined
        ? `${formatPath(issue.path)}: ${value === undefined && !message.startsWith('"') ? `${message} (missing)` : message}`
        : `${formatPath(issue.path)}: ${showValue(value)} — ${message}`;
    })
    .join('\n');
}
