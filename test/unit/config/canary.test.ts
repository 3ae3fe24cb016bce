import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';

const base = (canary: string, domains = '  - { domain: example.com, regions: [us-east-1] }') =>
  `version: 1\n${canary}\ndomains:\n${domains}\n`;
const S3 = 'canary:\n  to: canary@inbox.example.net\n  inbox: { type: s3, bucket: canary-inbox }';

describe('config: canary', () => {
  it('applies the global canary to every domain, with defaults', () => {
    const loaded = parseConfig(base(S3), '/etc/byodkim.yaml');
    expect(loaded.domains[0]?.canary).toEqual({
      from: 'byodkim-canary@example.com',
      to: 'canary@inbox.example.net',
      intervalMs: 24 * 3_600_000,
      switchIntervalMs: 5 * 60_000,
      retentionMs: 0,
    });
    expect(loaded.domains[0]?.canaryInbox).toEqual({ type: 's3', bucket: 'canary-inbox', prefix: 'canary/' });
  });

  it('lets a domain override fields or turn the canary off', () => {
    const loaded = parseConfig(
      base(
        S3,
        [
          '  - { domain: example.com, regions: [us-east-1], canary: { switchIntervalMinutes: 2, from: "probe@mail.{domain}" } }',
          '  - { domain: example.org, regions: [us-east-1], canary: false }',
        ].join('\n'),
      ),
      '/etc/byodkim.yaml',
    );
    expect(loaded.domains[0]?.canary).toMatchObject({
      from: 'probe@mail.example.com',
      switchIntervalMs: 120_000,
    });
    expect(loaded.domains[1]?.canary).toBeUndefined();
  });

  it.each([
    [
      'a domain canary without a global one must be whole',
      base('', '  - { domain: example.com, regions: [us-east-1], canary: { to: a@b.example } }'),
      /domains\[0\]\.canary\.inbox/,
    ],
    [
      'an IMAP inbox needs exactly one password source',
      base('canary:\n  to: a@b.example\n  inbox: { type: imap, host: imap.example.net, user: canary }'),
      /canary\.inbox\.passwordSecret: .*exactly one of passwordSecret, passwordEnv or passwordFile/,
    ],
    [
      'the sender must be on the domain',
      base(`${S3}\n  from: someone@example.net`),
      /canary\.from: "someone@example\.net" is not an address on example\.com/,
    ],
    ['an interval out of range', base(`${S3}\n  switchIntervalMinutes: 0`), /canary\.switchIntervalMinutes/],
  ])('%s: exit-2 error naming the field', (_case, text, message) => {
    expect(() => parseConfig(text, '/etc/byodkim.yaml')).toThrow(message);
    try {
      parseConfig(text, '/etc/byodkim.yaml');
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    }
  });
});
