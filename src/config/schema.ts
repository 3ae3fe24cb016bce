import { z } from 'zod';
import { OWN_ACCOUNT } from '../domain/account.js';
import { normalizeDomain } from '../domain/domain-name.js';
import { policyOverrideSchema, policySchema } from '../domain/policy.js';
import { isSesRegion } from '../domain/regions.js';
import { isValidSelector } from '../domain/selector.js';

/**
 * The YAML config file. Every object is strict, so a misspelt key is an error that names
 * it rather than a setting silently ignored.
 */

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+)(:\d{1,5})?$/, 'expected host or host:port')
  .refine(
    (value) =>
      portOf(value) === undefined || ((portOf(value) as number) >= 1 && (portOf(value) as number) <= 65_535),
    {
      error: (issue) => `"${String(issue.input)}": the port must be 1 to 65535`,
    },
  );

/** The port of `host:port` / `[v6]:port`, if one is given. */
function portOf(value: string): number | undefined {
  const match = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** A list where empty would mean nothing: leave the key out instead. */
function serverList(what: string) {
  return z.array(hostPort).min(1, { error: `lists no server; leave ${what} out instead` });
}

/** A URL with one of the schemes byodkim can use there, e.g. no `file:` endpoint, no `ftp:` webhook. */
function urlWith(schemes: readonly string[]) {
  return z.string().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL` });
      return;
    }
    if (!schemes.includes(url.protocol.replace(/:$/, '')) || url.hostname === '') {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL with a host`,
      });
    }
  });
}

/** An AWS region name (`ap-northeast-1`, `us-gov-west-1`): the SDK would otherwise fail later, vaguely. */
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, {
  error: (issue) => `"${String(issue.input)}" is not an AWS region`,
});

const nonEmpty = z.string().min(1, { error: 'must not be empty' });

const domainName = z.string().superRefine((value, ctx) => {
  try {
    normalizeDomain(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^domain: /, '') });
  }
});

const region = z
  .string()
  .refine(isSesRegion, { error: (issue) => `"${String(issue.input)}" is not an SES region` });

const tsigSchema = z
  .object({
    name: z.string().min(1).describe('TSIG key name as the DNS server knows it.'),
    algorithm: z.enum(['hmac-sha256', 'hmac-sha512']).default('hmac-sha256'),
    secretEnv: nonEmpty.optional().describe('Environment variable holding the base64 secret.'),
    secretFile: nonEmpty.optional().describe('File holding the base64 secret (or a BIND key file).'),
  })
  .strict()
  .refine((t) => (t.secretEnv === undefined) !== (t.secretFile === undefined), {
    message: 'give exactly one of secretEnv or secretFile (secrets are not written in the config)',
  });

/** An `accounts` entry's name: it labels budgets, status rows, metrics and deployment resources. */
const accountName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, {
  error: (issue) =>
    `"${String(issue.input)}" is not an account name: 1 to 64 lower-case letters, digits and inner hyphens`,
});

/** The 12-digit account of an IAM role ARN, or undefined when it is not one. */
export function accountIdOfRoleArn(arn: string): string | undefined {
  return ROLE_ARN.exec(arn)?.[2];
}

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

export const accountSchema = z
  .object({
    name: accountName.describe(
      `What byodkim calls the account (status, metrics, the Lambda event's "account"); "${OWN_ACCOUNT}" is the caller's own.`,
    ),
    roleArn: z
      .string()
      .regex(ROLE_ARN, {
        error: (issue) =>
          `"${String(issue.input)}" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`,
      })
      .describe('The role byodkim assumes in the account (the ByodkimMemberRole): SES there, nothing else.'),
    externalId: z
      .string()
      .regex(/^[\w+=,.@:/-]{2,1224}$/, {
        error: (issue) =>
          `"${String(issue.input)}" is not an STS external ID: 2 to 1224 letters, digits and + = , . @ : / - _`,
      })
      .describe("The external ID the role's trust policy requires (sts:ExternalId)."),
    regions: z
      .array(region)
      .min(1)
      .optional()
      .describe("Regions of this account's domains that give none of their own."),
  })
  .strict();

export const dnsProviderSchema = z.discriminatedUnion('provider', [
  z
    .object({
      provider: z
        .literal('manual')
        .describe('Hand the records to a DNS team; byodkim waits until DNS shows them.'),
      outDir: nonEmpty
        .default('dns-requests')
        .describe('Where hand-off files (CSV, zone lines, JSON) are written.'),
      ttl: z.number().int().min(30).max(86_400).default(300),
    })
    .strict(),
  z
    .object({
      provider: z.literal('route53'),
      hostedZoneId: z.string().optional().describe('Found by name when omitted.'),
      ttl: z.number().int().min(30).max(86_400).default(300),
      account: accountName
        .optional()
        .describe(
          "The `accounts` entry whose role changes this zone (the zone lives in that account); default: the caller's own account.",
        ),
    })
    .strict(),
  z
    .object({
      provider: z.literal('rfc2136'),
      server: hostPort.describe('Primary server for dynamic updates, host[:port].'),
      zone: domainName.optional().describe('Zone to update; found from SOA when omitted.'),
      tsig: tsigSchema,
      ttl: z.number().int().min(30).max(86_400).default(300),
    })
    .strict(),
]);

export const probeSchema = z
  .object({
    nameservers: serverList('probe.nameservers')
      .optional()
      .describe("Query these instead of the zone's NS set (split horizon, private zones, tests)."),
    resolvers: serverList('probe.resolvers')
      .optional()
      .describe("Recursive resolvers used to find the NS set (default: the system's)."),
    alsoRecursive: serverList('probe.alsoRecursive')
      .optional()
      .describe('Recursive resolvers that must also serve the key before a switch.'),
    timeoutMs: z.number().int().min(100).max(30_000).default(2_000),
    concurrency: z.number().int().min(1).max(1_024).default(64),
  })
  .strict();

export const keyVaultSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('file'),
      dir: nonEmpty.default('.byodkim/keys'),
      retired: z.enum(['delete', 'archive']).default('delete'),
    })
    .strict(),
  z
    .object({
      type: z.literal('s3'),
      bucket: z.string().min(3),
      prefix: z
        .string()
        .default('dkim-keys/')
        .describe("The seeds' layout: <prefix><domain>/<selector>/private_key.pem."),
      kmsKeyId: z.string().optional().describe('KMS key for SSE-KMS; the bucket default key when omitted.'),
      region: awsRegion.optional(),
      retired: z.enum(['delete', 'archive']).default('delete'),
    })
    .strict(),
]);

export const stateStoreSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), dir: nonEmpty.default('.byodkim/state') }).strict(),
  z
    .object({
      type: z.literal('secrets-manager'),
      secretName: z
        .string()
        .default('byodkim/{domain}')
        .describe(
          'Secret per domain; {domain} is replaced. The seeds used "aws-ses-migration/prod/dkim-config".',
        ),
      region: awsRegion.optional(),
      kmsKeyId: z.string().optional(),
    })
    .strict(),
  z.object({ type: z.literal('dynamodb'), table: z.string().min(3), region: awsRegion.optional() }).strict(),
]);

export const notifierSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdout') }).strict(),
  z.object({ type: z.literal('file'), path: nonEmpty }).strict(),
  z
    .object({
      type: z.literal('sns'),
      topicArn: z.string().startsWith('arn:'),
      region: awsRegion.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('webhook'),
      url: urlWith(['https', 'http']),
      timeoutMs: z
        .number()
        .int()
        .min(100)
        .max(60_000)
        .default(10_000)
        .describe('Time one delivery attempt may take, connection included.'),
    })
    .strict(),
]);

const canaryInboxSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z
        .literal('s3')
        .describe(
          'SES receiving stores the canary in this bucket (a receipt rule with an S3 action; the CDK construct deploys it).',
        ),
      bucket: z.string().min(3),
      prefix: z.string().default('canary/').describe("The receipt rule's ObjectKeyPrefix."),
      region: z.string().optional().describe("The bucket's region (default: the SDK's)."),
    })
    .strict(),
  z
    .object({
      type: z.literal('imap').describe('A mailbox the canary address delivers to, read over IMAP.'),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65_535).default(993),
      secure: z
        .boolean()
        .default(true)
        .describe('TLS from the start (993); false: STARTTLS when offered (143).'),
      user: z.string().min(1),
      passwordSecret: z
        .string()
        .optional()
        .describe(
          'Secrets Manager secret (name or ARN) holding the password, as its whole string or a "password" field.',
        ),
      passwordEnv: z.string().optional().describe('Environment variable holding the password.'),
      passwordFile: z.string().optional().describe('File holding the password.'),
      mailbox: z.string().default('INBOX'),
      allowSelfSigned: z
        .boolean()
        .default(false)
        .describe(
          'Accept a certificate no public authority signed (a test server); never for a real mailbox.',
        ),
    })
    .strict()
    .refine(
      (i) => [i.passwordSecret, i.passwordEnv, i.passwordFile].filter((p) => p !== undefined).length === 1,
      {
        message:
          'give exactly one of passwordSecret, passwordEnv or passwordFile (passwords are not written in the config)',
        path: ['passwordSecret'],
      },
    ),
]);

const canaryFields = {
  from: z
    .string()
    .regex(/^[^\s@]+@[^\s@]+$/, 'expected an email address')
    .optional()
    .describe(
      'Sender of the canary, an address on the domain ({domain} is replaced). Default byodkim-canary@{domain}.',
    ),
  to: z.email().describe('Where the canary goes: an address the inbox receives for.'),
  inbox: canaryInboxSchema,
  intervalHours: z
    .number()
    .min(1)
    .max(168)
    .default(24)
    .describe(
      'One canary per region this often while nothing is switching (sending quota, not the API budget).',
    ),
  switchIntervalMinutes: z
    .number()
    .min(1)
    .max(60)
    .default(5)
    .describe(
      'One canary per region this often while a switch is open there or a canary alarm holds: the gap seen by real mail is known to within this.',
    ),
  retentionHours: z
    .number()
    .min(0)
    .max(720)
    .default(0)
    .describe('How long a judged canary stays in the inbox (0: deleted as soon as it is judged).'),
};

/**
 * The signing canary: byodkim sends a short message through SES in each region, reads it
 * back from an inbox and judges it as a receiver would (DKIM d= and s=, body hash,
 * signature, SPF and DMARC alignment) against the authoritative nameservers.
 */
export const canarySchema = z.object(canaryFields).strict();

/** A domain's canary: `false` turns the global one off; fields override the global ones. */
export const canaryOverrideSchema = z.union([
  z.literal(false),
  z
    .object({
      ...canaryFields,
      to: canaryFields.to.optional(),
      inbox: canaryInboxSchema.optional(),
      intervalHours: z.number().min(1).max(168).optional(),
      switchIntervalMinutes: z.number().min(1).max(60).optional(),
      retentionHours: z.number().min(0).max(720).optional(),
    })
    .strict(),
]);

export const domainConfigSchema = z
  .object({
    domain: domainName.describe('The SES identity (mail domain).'),
    regions: z
      .array(region)
      .min(1)
      .optional()
      .describe(
        "SES regions where this identity signs mail; one key serves them all. Default: its account's regions.",
      ),
    account: accountName
      .optional()
      .describe("The `accounts` entry whose SES holds this identity; default: the caller's own account."),
    selectorPrefix: z
      .string()
      .optional()
      .refine((p) => p === undefined || isValidSelector(p), {
        error: (issue) =>
          `"${String(issue.input)}" cannot start a selector: use letters, digits and inner hyphens`,
      })
      .describe("First part of selector names (default: the domain's first label)."),
    createIdentity: z.boolean().default(false).describe('Create the SES identity if it does not exist.'),
    delegation: z
      .object({
        zone: domainName.describe('The zone byodkim controls (through `dns`), e.g. dkim.example.net.'),
        selectors: z
          .number()
          .int()
          .min(2)
          .max(26)
          .default(3)
          .describe('Size of the fixed ring of selector names <prefix>-a, <prefix>-b, ...'),
        coolDownDays: z
          .number()
          .min(0)
          .max(365)
          .default(7)
          .describe(
            'After a key is retired (grace over, record removed), its selector name is reused only after this long, so resolvers that cached the old record (TTL ≤ 1 day) or its absence have forgotten it.',
          ),
      })
      .strict()
      .optional()
      .describe(
        'Delegated DKIM: the mail domain CNAMEs a fixed ring of selectors once to `zone`; rotations then need no DNS request.',
      ),
    policy: policyOverrideSchema.optional(),
    dns: dnsProviderSchema.optional().describe('Overrides the top-level dns for this domain.'),
    canary: canaryOverrideSchema
      .optional()
      .describe('Overrides the top-level canary for this domain (false: no canary).'),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1).default(1),
    policy: policySchema.default(policySchema.parse({})),
    keys: keyVaultSchema.default({ type: 'file', dir: '.byodkim/keys', retired: 'delete' }),
    state: stateStoreSchema.default({ type: 'file', dir: '.byodkim/state' }),
    dns: dnsProviderSchema.default({ provider: 'manual', outDir: 'dns-requests', ttl: 300 }),
    probe: probeSchema.default(probeSchema.parse({})),
    notify: z.array(notifierSchema).default([{ type: 'stdout' }]),
    canary: canarySchema
      .optional()
      .describe('The signing canary for every domain (each may override or turn it off).'),
    accounts: z
      .array(accountSchema)
      .optional()
      .describe(
        "Member accounts whose SES byodkim works through an assumed role; keys and state stay with the caller's own account.",
      ),
    aws: z
      .object({
        profile: nonEmpty.optional(),
        endpoints: z
          .partialRecord(
            z.enum(['sesv2', 's3', 'secretsmanager', 'dynamodb', 'route53', 'sns', 'kms', 'sts']),
            urlWith(['https', 'http']),
          )
          .optional()
          .describe('Endpoint overrides for emulators; AWS_ENDPOINT_URL_<SERVICE> also works.'),
        maxAttempts: z
          .number()
          .int()
          .min(1)
          .max(20)
          .optional()
          .describe(
            'Attempts per AWS call, first included (default 5); throttling and 5xx are retried with exponential backoff and jitter.',
          ),
        connectTimeoutMs: z
          .number()
          .int()
          .min(100)
          .max(60_000)
          .optional()
          .describe('Time to open a connection to an AWS endpoint (default 5000).'),
        requestTimeoutMs: z
          .number()
          .int()
          .min(1_000)
          .max(300_000)
          .optional()
          .describe(
            'Time one AWS request attempt may take once sent (default 30000); a stalled endpoint fails the attempt instead of hanging the run.',
          ),
        sesRequestsPerSecond: z
          .number()
          .positive()
          .max(10_000)
          .optional()
          .describe(
            "SES calls per second per account and region (default 1, SES's documented and not adjustable rate for every action but sending). Every SES call of the process waits its turn: writes first, then reads of identities in transition, scheduled health reads last. Raise it only where AWS has granted more.",
          ),
        sesBurst: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .optional()
          .describe(
            'SES calls that may leave back to back after a quiet spell (default 1: the client keeps a token of the service in reserve so latency jitter does not turn into throttling).',
          ),
        sesBatchedHealthReads: z
          .boolean()
          .optional()
          .describe(
            'Make the scheduled health read with SES v1 GetIdentityDkimAttributes, 100 identities per call (default true); anything but SUCCESS with signing on is read again with SES v2 in the same pass.',
          ),
      })
      .strict()
      .optional(),
    domains: z
      .array(domainConfigSchema)
      .min(1, { error: 'lists no domain: add at least one (byodkim would have nothing to do)' })
      .describe('The mail domains byodkim manages.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkAccounts(config, ctx);
    const rings = new Map<string, number>();
    config.domains.forEach((d, index) => {
      if (!d.delegation) return;
      const prefix = d.selectorPrefix ?? d.domain.toLowerCase().split('.')[0];
      const ring = `${prefix}@${d.delegation.zone.toLowerCase().replace(/\.$/, '')}`;
      const first = rings.get(ring);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['domains', index, 'delegation', 'zone'],
          message: `"${d.delegation.zone}" already holds the selector ring "${prefix}-…" of domains[${first}]; give one of them another selectorPrefix`,
        });
      } else rings.set(ring, index);
    });
    const seen = new Map<string, number>();
    config.domains.forEach((d, index) => {
      let name: string;
      try {
        name = normalizeDomain(d.domain);
      } catch {
        return;
      }
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['domains', index, 'domain'],
          message: `"${d.domain}" is already configured at domains[${first}]`,
        });
      } else seen.set(name, index);
      const regions = new Set<string>();
      (d.regions ?? []).forEach((r, ri) => {
        if (regions.has(r))
          ctx.addIssue({
            code: 'custom',
            path: ['domains', index, 'regions', ri],
            message: `"${r}" is listed twice`,
          });
        regions.add(r);
      });
    });
  });

type ConfigShape = {
  accounts?:
    | ReadonlyArray<{ name: string; roleArn: string; regions?: readonly string[] | undefined }>
    | undefined;
  dns: { provider: string; account?: string | undefined };
  domains: ReadonlyArray<{
    regions?: readonly string[] | undefined;
    account?: string | undefined;
    dns?: { provider: string; account?: string | undefined } | undefined;
  }>;
};

/**
 * Accounts: one entry per name and per AWS account (two entries for one account would give it
 * two SES budgets, twice the rate SES allows), every name a domain or zone refers to defined,
 * and every domain with regions of its own or from its account.
 */
function checkAccounts(config: ConfigShape, ctx: z.RefinementCtx): void {
  const accounts = config.accounts ?? [];
  const names = new Map<string, number>();
  const ids = new Map<string, number>();
  accounts.forEach((account, index) => {
    if (account.name === OWN_ACCOUNT) {
      ctx.addIssue({
        code: 'custom',
        path: ['accounts', index, 'name'],
        message: `"${OWN_ACCOUNT}" is reserved for the caller's own account: leave account out of its domains instead`,
      });
    }
    const firstName = names.get(account.name);
    if (firstName !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['accounts', index, 'name'],
        message: `"${account.name}" is already the name of accounts[${firstName}]`,
      });
    } else names.set(account.name, index);
    const id = accountIdOfRoleArn(account.roleArn);
    if (id === undefined) return;
    const firstId = ids.get(id);
    if (firstId !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['accounts', index, 'roleArn'],
        message: `"${account.roleArn}" is in account ${id}, already accounts[${firstId}] ("${accounts[firstId]?.name}"): one entry per account, so that each account keeps one SES budget`,
      });
    } else ids.set(id, index);
  });
  const known = accounts.map((a) => a.name).join(', ');
  const unknown = (name: string): string =>
    accounts.length === 0
      ? `"${name}" is not a configured account: add it under accounts (name, roleArn, externalId)`
      : `"${name}" is not a configured account (accounts: ${known})`;
  const refersTo = (name: string | undefined, path: (string | number)[]): void => {
    if (name !== undefined && !names.has(name))
      ctx.addIssue({ code: 'custom', path, message: unknown(name) });
  };
  if (config.dns.provider === 'route53') refersTo(config.dns.account, ['dns', 'account']);
  config.domains.forEach((d, index) => {
    refersTo(d.account, ['domains', index, 'account']);
    if (d.dns?.provider === 'route53') refersTo(d.dns.account, ['domains', index, 'dns', 'account']);
    if (d.regions !== undefined) return;
    const account = accounts.find((a) => a.name === d.account);
    if (account?.regions === undefined && (d.account === undefined || account !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['domains', index, 'regions'],
        message:
          d.account === undefined
            ? 'is required (list the SES regions where this identity signs mail)'
            : `is required: account "${d.account}" has no regions to default to`,
      });
    }
  });
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type DomainConfig = z.output<typeof domainConfigSchema>;
export type DnsProviderConfig = z.output<typeof dnsProviderSchema>;
export type KeyVaultConfig = z.output<typeof keyVaultSchema>;
export type StateStoreConfig = z.output<typeof stateStoreSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type NotifierConfig = z.output<typeof notifierSchema>;
export type CanaryConfig = z.output<typeof canarySchema>;
export type CanaryInboxConfig = z.output<typeof canaryInboxSchema>;
/** One `accounts[]` entry: a member account reached through an assumed role. */
export type AccountConfig = z.output<typeof accountSchema>;
