import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { InputError } from '../../../src/errors.js';

const ACCOUNTS = `
accounts:
  - name: brand-a
    roleArn: arn:aws:iam::111111111111:role/byodkim-member
    externalId: byodkim-brand-a
    regions: [eu-west-1, us-east-1]
  - name: brand-b
    roleArn: arn:aws:iam::222222222222:role/byodkim-member
    externalId: byodkim-brand-b
`;

function errorOf(text: string): InputError {
  try {
    parseConfig(text, '/etc/byodkim.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    expect((error as InputError).code).toBe('CONFIG_INVALID');
    return error as InputError;
  }
  throw new Error('expected the config to be rejected');
}

describe('config: accounts', () => {
  it("gives each domain its account, the account's regions when it lists none, and the caller's own otherwise", () => {
    const { domains, config } = parseConfig(
      `${ACCOUNTS}domains:
  - { domain: a.example.com, account: brand-a }
  - { domain: a2.example.com, account: brand-a, regions: [ap-northeast-1] }
  - { domain: b.example.com, account: brand-b, regions: [us-east-1] }
  - { domain: own.example.com, regions: [us-west-2] }
`,
      '/etc/byodkim.yaml',
    );
    expect(domains.map((d) => [d.domain, d.account, d.regions])).toEqual([
      ['a.example.com', 'brand-a', ['eu-west-1', 'us-east-1']],
      ['a2.example.com', 'brand-a', ['ap-northeast-1']],
      ['b.example.com', 'brand-b', ['us-east-1']],
      ['own.example.com', undefined, ['us-west-2']],
    ]);
    expect(config.accounts?.map((a) => a.name)).toEqual(['brand-a', 'brand-b']);
  });

  it('lets a Route 53 zone name the account it lives in', () => {
    const { domains } = parseConfig(
      `${ACCOUNTS}dns: { provider: route53, hostedZoneId: Z1, account: brand-b }
domains:
  - { domain: a.example.com, account: brand-a }
  - { domain: b.example.com, account: brand-b, regions: [us-east-1], dns: { provider: route53, hostedZoneId: Z2, account: brand-a } }
`,
      '/x.yaml',
    );
    expect(domains.map((d) => d.dns)).toEqual([
      { provider: 'route53', hostedZoneId: 'Z1', ttl: 300, account: 'brand-b' },
      { provider: 'route53', hostedZoneId: 'Z2', ttl: 300, account: 'brand-a' },
    ]);
  });

  it.each([
    [
      'a domain naming an account that is not configured',
      `${ACCOUNTS}domains:\n  - { domain: a.example.com, account: brand-x, regions: [us-east-1] }\n`,
      'domains[0].account: "brand-x" is not a configured account (accounts: brand-a, brand-b)',
    ],
    [
      'an account named with no accounts at all',
      'domains:\n  - { domain: a.example.com, account: brand-a, regions: [us-east-1] }\n',
      'domains[0].account: "brand-a" is not a configured account: add it under accounts (name, roleArn, externalId)',
    ],
    [
      'a domain with no regions in an account that has none',
      `${ACCOUNTS}domains:\n  - { domain: b.example.com, account: brand-b }\n`,
      'domains[0].regions: is required: account "brand-b" has no regions to default to (missing)',
    ],
    [
      "a domain with no regions in the caller's own account",
      `${ACCOUNTS}domains:\n  - { domain: own.example.com }\n`,
      'domains[0].regions: is required (list the SES regions where this identity signs mail) (missing)',
    ],
    [
      'a role ARN that is not one',
      'accounts:\n  - { name: brand-a, roleArn: "arn:aws:iam::1111:role/x", externalId: byodkim-a }\ndomains:\n  - { domain: a.example.com, account: brand-a, regions: [us-east-1] }\n',
      'accounts[0].roleArn: "arn:aws:iam::1111:role/x" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)',
    ],
    [
      'a user ARN where a role is expected',
      'accounts:\n  - { name: brand-a, roleArn: "arn:aws:iam::111111111111:user/x", externalId: byodkim-a }\ndomains:\n  - { domain: a.example.com, account: brand-a, regions: [us-east-1] }\n',
      'accounts[0].roleArn: "arn:aws:iam::111111111111:user/x" is not an IAM role ARN',
    ],
    [
      'an external ID STS would refuse',
      'accounts:\n  - { name: brand-a, roleArn: "arn:aws:iam::111111111111:role/x", externalId: "has space" }\ndomains:\n  - { domain: a.example.com, account: brand-a, regions: [us-east-1] }\n',
      'accounts[0].externalId: "has space" is not an STS external ID',
    ],
    [
      'an account without its external ID',
      'accounts:\n  - { name: brand-a, roleArn: "arn:aws:iam::111111111111:role/x" }\ndomains:\n  - { domain: a.example.com, account: brand-a, regions: [us-east-1] }\n',
      'accounts[0].externalId:',
    ],
    [
      'an account name with capitals',
      'accounts:\n  - { name: BrandA, roleArn: "arn:aws:iam::111111111111:role/x", externalId: byodkim-a }\ndomains:\n  - { domain: a.example.com, regions: [us-east-1] }\n',
      'accounts[0].name: "BrandA" is not an account name: 1 to 64 lower-case letters, digits and inner hyphens',
    ],
    [
      'the reserved name of the own account',
      'accounts:\n  - { name: own, roleArn: "arn:aws:iam::111111111111:role/x", externalId: byodkim-a }\ndomains:\n  - { domain: a.example.com, regions: [us-east-1] }\n',
      `accounts[0].name: "own" is reserved for the caller's own account`,
    ],
    [
      'two entries with one name',
      'accounts:\n  - { name: a, roleArn: "arn:aws:iam::111111111111:role/x", externalId: byodkim-a }\n  - { name: a, roleArn: "arn:aws:iam::222222222222:role/x", externalId: byodkim-a }\ndomains:\n  - { domain: a.example.com, regions: [us-east-1] }\n',
      'accounts[1].name: "a" is already the name of accounts[0]',
    ],
    [
      'two entries for one AWS account (two budgets for one)',
      'accounts:\n  - { name: a, roleArn: "arn:aws:iam::111111111111:role/x", externalId: byodkim-a }\n  - { name: b, roleArn: "arn:aws:iam::111111111111:role/y", externalId: byodkim-a }\ndomains:\n  - { domain: a.example.com, regions: [us-east-1] }\n',
      'accounts[1].roleArn: "arn:aws:iam::111111111111:role/y" is in account 111111111111, already accounts[0] ("a")',
    ],
    [
      'a Route 53 zone in an unknown account',
      `${ACCOUNTS}dns: { provider: route53, account: brand-z }\ndomains:\n  - { domain: a.example.com, account: brand-a }\n`,
      'dns.account: "brand-z" is not a configured account (accounts: brand-a, brand-b)',
    ],
    [
      "an account's region that SES does not have",
      'accounts:\n  - { name: a, roleArn: "arn:aws:iam::111111111111:role/x", externalId: byodkim-a, regions: [eu-west-9] }\ndomains:\n  - { domain: a.example.com, account: a }\n',
      'accounts[0].regions[0]: "eu-west-9" is not an SES region',
    ],
  ])('refuses %s, naming the field and the value (exit 2)', (_what, text, expected) => {
    expect(errorOf(text).message).toContain(expected);
  });
});
