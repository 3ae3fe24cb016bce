import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { InputError } from '../../../src/errors.js';

const base = `
domains:
  - domain: example.com
    regions: [us-east-1, ap-northeast-1]
`;

function errorOf(text: string): InputError {
  try {
    parseConfig(text, '/etc/byodkim.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    return error as InputError;
  }
  throw new Error('expected the config to be rejected');
}

describe('config', () => {
  it('fills in the documented defaults', () => {
    const { domains, config } = parseConfig(base, '/etc/byodkim.yaml');
    expect(domains[0]).toMatchObject({
      domain: 'example.com',
      regions: ['us-east-1', 'ap-northeast-1'],
      selectorPrefix: 'example',
      policy: {
        validityDays: 365,
        renewBeforeDays: 30,
        graceDays: 7,
        keyBits: 2048,
        selectorTemplate: '{prefix}-{yyyymmdd}-{n}',
        standby: 0,
      },
      dns: { provider: 'manual' },
    });
    expect(config.keys).toEqual({ type: 'file', dir: '/etc/.byodkim/keys', retired: 'delete' });
  });

  it('applies per-domain policy overrides on top of the defaults', () => {
    const { domains } = parseConfig(
      `policy: { graceDays: 3 }\ndomains:\n  - domain: a.example\n    regions: [us-east-1]\n    policy: { keyBits: 1024 }\n`,
      '/x.yaml',
    );
    expect(domains[0]?.policy).toMatchObject({ keyBits: 1024, graceDays: 3, validityDays: 365 });
  });

  it.each([
    [
      'an unknown region, naming its path',
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n  - domain: b.example\n    regions: [us-east-1]\n  - domain: c.example\n    regions: [ap-northeast-9]\n`,
      'domains[2].regions[0]: "ap-northeast-9" is not an SES region',
    ],
    [
      'a bad domain name',
      `domains:\n  - domain: "exa mple.com"\n    regions: [us-east-1]\n`,
      'domains[0].domain: "exa mple.com" is not a valid domain name',
    ],
    [
      'a one-label domain',
      `domains:\n  - domain: localhost\n    regions: [us-east-1]\n`,
      'needs at least two labels',
    ],
    ['an unknown key', `${base}    selectorprefix: x\n`, 'domains[0]: unknown key "selectorprefix"'],
    ['an unknown top-level key', `${base}polcy: {}\n`, 'unknown key "polcy"'],
    ['key size 4096', `policy: { keyBits: 4096 }\n${base}`, 'policy.keyBits: 4096'],
    [
      'a selector prefix SES would refuse',
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n    selectorPrefix: "bad_prefix"\n`,
      'domains[0].selectorPrefix: "bad_prefix" cannot start a selector',
    ],
    [
      'renewal not before expiry',
      `policy: { validityDays: 30, renewBeforeDays: 30 }\n${base}`,
      'policy.renewBeforeDays: "30" must be less than validityDays (30)',
    ],
    [
      'a template without {n}',
      `policy: { selectorTemplate: "{prefix}-{yyyymmdd}" }\n${base}`,
      'must contain {n}',
    ],
    [
      'a duplicated domain',
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n  - domain: A.example.\n    regions: [us-east-1]\n`,
      'domains[1].domain: "A.example." is already configured at domains[0]',
    ],
    [
      'a region listed twice',
      `domains:\n  - domain: a.example\n    regions: [us-east-1, us-east-1]\n`,
      'domains[0].regions[1]: "us-east-1" is listed twice',
    ],
    [
      'a TSIG secret written in the config',
      `dns: { provider: rfc2136, server: "127.0.0.1:53", tsig: { name: k, secret: abc } }\n${base}`,
      'unknown key "secret"',
    ],
    ['malformed YAML, with its line', 'domains:\n  - domain: [unclosed\n', '/etc/byodkim.yaml:'],
    ['a list instead of a mapping', '- a\n- b\n', 'must be a mapping'],
    [
      'a grace period shorter than SES delivery retries plus the TTL',
      `policy: { graceDays: 0.5 }\n${base}`,
      'policy.graceDays: "0.5" is too short for example.com',
    ],
    [
      'a per-domain grace period below the floor, named at the domain',
      `dns: { provider: manual, ttl: 3600 }\ndomains:\n  - domain: a.example\n    regions: [us-east-1]\n    policy: { graceDays: 0.6 }\n`,
      'domains[0].policy.graceDays: "0.6" is too short for a.example',
    ],
    [
      'a switch window in a time zone that does not exist',
      `policy: { switchWindow: { start: "02:00", end: "05:00", timeZone: "Mars/Olympus" } }\n${base}`,
      'not an IANA time zone',
    ],
    [
      'a bad per-domain override',
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n    policy: { renewBeforeDays: 400 }\n`,
      'domains[0].policy.renewBeforeDays',
    ],
    [
      "a prefix that makes this domain's selectors too long",
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n    selectorPrefix: ${'p'.repeat(55)}\n`,
      `domains[0]: selectorPrefix "${'p'.repeat(55)}" with selectorTemplate: "{prefix}-{yyyymmdd}-{n}" makes selectors like`,
    ],
    [
      'a delegation prefix whose ring names are too long',
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n    selectorPrefix: ${'p'.repeat(62)}\n    delegation: { zone: dkim.example.net }\n`,
      'domains[0]: delegated selector from selectorPrefix',
    ],
    [
      'a port past 65535',
      `probe: { nameservers: ["ns1.example.net:70000"] }\n${base}`,
      'the port must be 1 to 65535',
    ],
    [
      'a region that is no region',
      `keys: { type: s3, bucket: keys, region: "eu west 1" }\n${base}`,
      'is not an AWS region',
    ],
    ['an empty resolver list', `probe: { resolvers: [] }\n${base}`, 'probe.resolvers: [] — lists no server'],
    [
      'an empty state directory',
      `state: { type: file, dir: "" }\n${base}`,
      'state.dir: "" — must not be empty',
    ],
    [
      'a webhook timeout of an hour',
      `notify: [{ type: webhook, url: "https://h.example", timeoutMs: 3600000 }]\n${base}`,
      'notify[0].timeoutMs',
    ],
    ['an AWS request timeout of zero', `aws: { requestTimeoutMs: 0 }\n${base}`, 'aws.requestTimeoutMs'],
    [
      'a check interval of a week',
      `policy: { verifyIntervalMinutes: 10080 }\n${base}`,
      'policy.verifyIntervalMinutes',
    ],
    [
      'a cool-down of a thousand years',
      `domains:\n  - domain: a.example\n    regions: [us-east-1]\n    delegation: { zone: z.example, coolDownDays: 365000 }\n`,
      'coolDownDays',
    ],
  ])('rejects %s', (_, text, expected) => {
    expect(errorOf(text).message).toContain(expected);
  });

  it('accepts aliases used to share a block, as the CDK construct writes them', () => {
    const text = `domains: [{ regions: &r [us-east-1, eu-west-1], domain: a.example }, { regions: *r, domain: b.example }, { regions: *r, domain: c.example }]\n`;
    expect(parseConfig(text, '/etc/byodkim.yaml').domains.map((d) => d.regions)).toEqual([
      ['us-east-1', 'eu-west-1'],
      ['us-east-1', 'eu-west-1'],
      ['us-east-1', 'eu-west-1'],
    ]);
  });

  it('reads AWS timeouts and a webhook timeout', () => {
    const { config } = parseConfig(
      `aws: { connectTimeoutMs: 2000, requestTimeoutMs: 10000 }\nnotify: [{ type: webhook, url: "https://h.example/x" }]\n${base}`,
      '/etc/byodkim.yaml',
    );
    expect(config.aws).toMatchObject({ connectTimeoutMs: 2000, requestTimeoutMs: 10000 });
    expect(config.notify).toEqual([{ type: 'webhook', url: 'https://h.example/x', timeoutMs: 10_000 }]);
  });
});
