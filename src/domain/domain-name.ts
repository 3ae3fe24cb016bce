import { domainToASCII } from 'node:url';
import { InputError } from '../errors.js';

/**
 * Mail domain names as SES identities: lower-case ASCII (IDNs are converted to punycode),
 * no trailing dot, at least two labels, each 1–63 letters/digits/hyphens not starting or
 * ending with a hyphen, 253 characters at most.
 */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeDomain(input: string, where = 'domain'): string {
  const trimmed = input.trim().replace(/\.$/, '');
  const isAscii = [...trimmed].every((c) => c.charCodeAt(0) < 128);
  const ascii = isAscii ? trimmed.toLowerCase() : domainToASCII(trimmed);
  const labels = ascii.split('.');
  const problem =
    ascii === ''
      ? 'it is empty'
      : ascii.length > 253
        ? 'it is longer than 253 characters'
        : labels.length < 2
          ? 'it needs at least two labels (like example.com)'
          : labels.find((label) => !LABEL.test(label)) !== undefined
            ? `label "${labels.find((label) => !LABEL.test(label))}" is not 1–63 letters, digits or hyphens (no leading/trailing hyphen)`
            : undefined;
  if (problem) {
    throw new InputError('DOMAIN_INVALID', `${where}: "${input}" is not a valid domain name: ${problem}`, {
      context: { domain: input, where },
    });
  }
  return ascii;
}

export function isSubdomainOf(name: string, zone: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const z = zone.toLowerCase().replace(/\.$/, '');
  return n === z || n.endsWith(`.${z}`);
}
