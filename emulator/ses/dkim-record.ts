/**
 * The emulator's own reading of a DKIM key record (RFC 6376 §3.6.1). It is deliberately not
 * shared with the product: the emulator is a check of the product's record builder.
 */
import { createPublicKey } from 'node:crypto';

export type KeyRecordReading =
  /** Not a DKIM key record (no `p=` tag, or not a tag list): ignored. */
  | { readonly kind: 'not-dkim' }
  /** Looks like a DKIM key record but breaks a rule (bad `v=`, `k=`, undecodable `p=`). */
  | { readonly kind: 'invalid'; readonly reason: string }
  /** `p=` empty: the key is revoked. */
  | { readonly kind: 'revoked' }
  | { readonly kind: 'key'; readonly publicKeySpkiDer: Buffer };

/** Joins the character-strings of one TXT record, as RFC 6376 §3.6.2.2 says. */
export function joinTxtStrings(strings: readonly string[]): string {
  return strings.join('');
}

/** Parses a tag list (`tag=value; tag=value`). Returns undefined if it is not one. */
export function parseTagList(text: string): Array<[string, string]> | undefined {
  const tags: Array<[string, string]> = [];
  const parts = text.split(';');
  for (const [index, raw] of parts.entries()) {
    const part = raw.trim();
    if (part === '') {
      // a trailing ";" is allowed; an empty tag in the middle is not
      if (index === parts.length - 1 && index > 0) continue;
      return undefined;
    }
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq).trim();
    if (!/^[a-zA-Z][a-zA-Z0-9_]*$/.test(name)) return undefined;
    tags.push([name, part.slice(eq + 1).trim()]);
  }
  return tags;
}

export function readKeyRecord(text: string): KeyRecordReading {
  const tags = parseTagList(text);
  if (!tags) return { kind: 'not-dkim' };
  const byName = new Map<string, string>();
  for (const [name, value] of tags) {
    if (byName.has(name)) return { kind: 'invalid', reason: `tag ${name}= appears twice` };
    byName.set(name, value);
  }
  const p = byName.get('p');
  if (p === undefined) return { kind: 'not-dkim' };
  const v = byName.get('v');
  if (v !== undefined) {
    if (tags[0]?.[0] !== 'v') return { kind: 'invalid', reason: 'v= must be the first tag' };
    if (v !== 'DKIM1') return { kind: 'invalid', reason: `v=${v} is not DKIM1` };
  }
  const k = byName.get('k');
  if (k !== undefined && k.toLowerCase() !== 'rsa') {
    return { kind: 'invalid', reason: `k=${k} is not rsa` };
  }
  const base64 = p.replace(/\s+/g, '');
  if (base64 === '') return { kind: 'revoked' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    return { kind: 'invalid', reason: 'p= is not base64' };
  }
  const der = Buffer.from(base64, 'base64');
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      const key = createPublicKey({ key: der, format: 'der', type });
      if (key.asymmetricKeyType !== 'rsa') return { kind: 'invalid', reason: 'p= is not an RSA key' };
      return { kind: 'key', publicKeySpkiDer: key.export({ type: 'spki', format: 'der' }) };
    } catch {
      // try the next encoding
    }
  }
  return { kind: 'invalid', reason: 'p= is not a DER public key' };
}
