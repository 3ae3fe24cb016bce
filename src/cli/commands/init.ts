import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { replaceFile, writeNewFile } from '../../adapters/local/fs-atomic.js';
import { parseConfig } from '../../config/load.js';
import { normalizeDomain } from '../../domain/domain-name.js';
import { InputError } from '../../errors.js';
import { configPath, type GlobalOptions } from '../context.js';

export async function run(
  options: Record<string, unknown>,
  global: GlobalOptions,
  _command: Command,
): Promise<number> {
  const path = configPath(global);
  const domain = normalizeDomain(String(options.domain), '--domain');
  const regions = (options.region as string[] | undefined) ?? ['us-east-1'];
  const prefix = options.selectorPrefix === undefined ? undefined : String(options.selectorPrefix);
  const text = configTemplate(domain, regions, prefix);
  // Validate what we are about to write with the same loader every command uses.
  try {
    parseConfig(text, path);
  } catch (error) {
    if (error instanceof InputError) {
      throw new InputError(
        error.code,
        error.message
          .replace(`${path}: invalid config\n`, '')
          .replace(/^domains\[0\]\.regions\[(\d+)\]/m, '--region')
          .replace(/^domains\[0\]\.selectorPrefix/m, '--selector-prefix'),
        {
          context: error.context,
        },
      );
    }
    throw error;
  }
  if (options.force) {
    await replaceFile(path, text, 0o644);
  } else if (!(await writeNewFile(path, text, 0o644))) {
    throw new InputError(
      'CONFIG_EXISTS',
      `${path} already exists; not replacing it (use --force to replace)`,
      { context: { path } },
    );
  }
  await access(path);
  if (global.output === 'json')
    process.stdout.write(`${JSON.stringify({ written: path, domain, regions })}\n`);
  else
    process.stdout.write(
      `Wrote ${path} for ${domain} in ${regions.join(', ')}. Next: byodkim keygen --domain ${domain}\n`,
    );
  return 0;
}

function configTemplate(domain: string, regions: string[], prefix: string | undefined): string {
  return `# byodkim configuration. Reference: docs/configuration.md; editor schema: schema/byodkim.config.schema.json
version: 1

# How keys live. These are the defaults; each domain may override any of them under "policy:".
policy:
  validityDays: 180        # M3AAWG recommends rotating DKIM keys about every six months
  renewBeforeDays: 30      # rotation starts this many days before the end of validity
  graceDays: 7             # an old selector stays published this long after SES stopped using it
                           # (at least SES's 14 h of delivery retries plus the record's TTL)
  keyBits: 2048            # 1024 or 2048: the only sizes SES accepts
  selectorTemplate: "{prefix}-{yyyymmdd}-{n}"   # e.g. ${prefix ?? domain.split('.')[0]}-20260917-1
  verifyChecks: 2          # consecutive passes every authoritative nameserver must serve the key
  verifyIntervalMinutes: 10   # ...counted only when at least this far apart (secondaries lag)
  verificationWindowHours: 6    # SES must report SUCCESS within this after a switch, or byodkim
                                # rolls back (SES fails the whole identity after 72 h: decide in hours)
  followUpMinutes: 5       # after an SES put, read SES again this soon (then less often) to see it through
  # switchWindow: { days: [sat, sun], start: "02:00", end: "05:00", timeZone: "Asia/Tokyo" }
  #                        # quiet hours for routine switches (every switch has a signing gap)

# Where private keys live. "file" is the embedded default (0700 directories, 0600 files).
# For AWS: { type: s3, bucket: my-dkim-keys, prefix: dkim-keys/, kmsKeyId: alias/byodkim }
keys:
  type: file
  dir: .byodkim/keys

# Where byodkim remembers each domain's keys and history.
# For AWS: { type: secrets-manager, secretName: "byodkim/{domain}" } or { type: dynamodb, table: byodkim-state }
state:
  type: file
  dir: .byodkim/state

# How records reach DNS: manual (hand-off files for a DNS team), route53, or rfc2136 (BIND, Knot, PowerDNS).
dns:
  provider: manual
  outDir: dns-requests
  ttl: 300

# How byodkim checks that every authoritative nameserver serves a key.
probe:
  timeoutMs: 2000
  # nameservers: ["ns1.example.net"]   # set for split-horizon or private zones

notify:
  - type: stdout

domains:
  - domain: ${domain}
    regions: [${regions.join(', ')}]
${prefix === undefined ? `    # selectorPrefix: ${domain.split('.')[0]}` : `    selectorPrefix: ${JSON.stringify(prefix)}`}
`;
}
