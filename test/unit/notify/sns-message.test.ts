import { describe, expect, it } from 'vitest';
import { renderSnsMessage } from '../../../src/adapters/notify/sns.js';
import type { Notification } from '../../../src/ports.js';
import { fakePem } from '../../support/keys.js';

const PUBLIC = `v=DKIM1; k=rsa; p=${'A'.repeat(392)}`;

const HAND_OFF: Notification = {
  kind: 'dns-hand-off',
  domain: 'example.com',
  add: [
    {
      action: 'upsert',
      name: 'example-20260301-1._domainkey.example.com',
      value: PUBLIC,
      ttl: 600,
      selector: 'example-20260301-1',
      reason: 'PUBLISH_NEXT: next key staged',
    },
  ],
  remove: [
    {
      action: 'delete',
      name: 'example-20250301-1._domainkey.example.com',
      value: 'v=DKIM1; k=rsa; p=OLDKEY',
      selector: 'example-20250301-1',
      reason: 'RETIRE_OLD: grace period over',
      notBefore: '2026-03-08T00:00:00.000Z',
    },
  ],
  files: ['/tmp/dns-requests/example.com.csv'],
};

describe('renderSnsMessage', () => {
  it('lists every record to add and remove with the exact values, TTL and notBefore', () => {
    const { subject, message } = renderSnsMessage(HAND_OFF);
    expect(subject).toBe('byodkim: DNS change needed for example.com');
    expect(message).toContain('please publish 1 TXT record and remove 1 TXT record');
    expect(message).toContain('Add 1 of 1: ADD TXT example-20260301-1._domainkey.example.com');
    expect(message).toContain(`value:      ${PUBLIC}`);
    expect(message).toContain('TTL:        600');
    expect(message).toContain('Remove 1 of 1: REMOVE TXT example-20250301-1._domainkey.example.com');
    expect(message).toContain('not before: 2026-03-08T00:00:00.000Z');
    expect(message).toContain('/tmp/dns-requests/example.com.csv');
    expect(message).toContain('customerProvidedPublicKey');
  });

  it('writes zone-file lines with the value split into 255-byte strings', () => {
    const { message } = renderSnsMessage(HAND_OFF);
    const zone = message.split('\n').find((l) => l.includes('zone file:') && l.includes('20260301'));
    expect(zone).toMatch(
      /example-20260301-1\._domainkey\.example\.com\. 600 IN TXT \( "v=DKIM1; k=rsa; p=A+" "A+" \)/,
    );
    const strings = [...(zone ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
    expect(strings.join('')).toBe(PUBLIC);
    expect(strings.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
  });

  it('keeps subjects within SNS rules: ASCII, one line, at most 100 characters', () => {
    const long = renderSnsMessage({
      kind: 'failure',
      domain: `${'a'.repeat(60)}.${'b'.repeat(60)}.example`,
      reason: 'SES_FAILED',
      message: 'x',
    });
    expect(long.subject.length).toBeLessThanOrEqual(100);
    expect(long.subject).toMatch(/^[\x20-\x7e]+$/);
    const idn = renderSnsMessage({
      kind: 'rotated',
      domain: 'bücher.example',
      selector: 's1',
      message: 'done',
    });
    expect(idn.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('describes failures and rotations', () => {
    expect(
      renderSnsMessage({
        kind: 'failure',
        domain: 'example.com',
        reason: 'SES_FAILED',
        message: 'SES said FAILED',
      }),
    ).toEqual({
      subject: 'byodkim: failure for example.com',
      message: expect.stringMatching(/Reason: {2}SES_FAILED\nDetails: SES said FAILED/),
    });
    expect(
      renderSnsMessage({
        kind: 'rotated',
        domain: 'example.com',
        selector: 'sel2',
        message: 'now signing with sel2',
      }),
    ).toMatchObject({ subject: 'byodkim: example.com now signs with sel2' });
  });

  it('refuses to carry a private key', () => {
    expect(() =>
      renderSnsMessage({
        kind: 'failure',
        domain: 'example.com',
        reason: 'BUG',
        message: fakePem('MIIE...'),
      }),
    ).toThrow(/contains a private key/);
  });
});
