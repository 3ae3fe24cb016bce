/**
 * Sample CDK app: deploys byodkim for the domains of the same YAML config the CLI reads.
 *
 *   npx cdk synth                                    # ../byodkim.config.yaml, else examples/
 *   npx cdk deploy -c config=../prod.yaml -c account=123456789012 -c region=ap-northeast-1
 *   npx cdk deploy -c identityStacks=true --all      # also SES identities, one stack per region
 *
 * Context: `config` (path), `account`/`region` (otherwise the stack is environment-agnostic),
 * `state` (`secrets-manager` | `dynamodb`), `stackName`, `bundle` (function bundle directory),
 * `identityStacks` (create the identities with DKIM off, as the seeds' ses-configuration.yaml),
 * `canaryHostedZoneId` (the Route 53 zone of a canary S3 inbox's domain, for its MX record).
 *
 * A config `canary` with an S3 inbox deploys that inbox (SES receiving in the stack's Region,
 * the bucket the config names); with an IMAP inbox the function reads that mailbox, its
 * password from the Secrets Manager secret `passwordSecret` names.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, aws_secretsmanager as secretsmanager, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { loadConfig } from '../../src/config/load.js';
import type { CanaryConfig } from '../../src/config/schema.js';
import { ByodkimRotation } from '../lib/byodkim-rotation.js';
import type { ByodkimCanary } from '../lib/canary-inbox.js';
import { ByodkimSesIdentities } from '../lib/ses-identities.js';

const here = dirname(fileURLToPath(import.meta.url));
const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined ? undefined : String(value);
};

const rootConfig = resolve(here, '../../byodkim.config.yaml');
const configPath =
  context('config') ??
  (existsSync(rootConfig) ? rootConfig : resolve(here, '../examples/byodkim.config.yaml'));
const loaded = await loadConfig(configPath);
const account = context('account');
const region = context('region');
const env = account !== undefined && region !== undefined ? { env: { account, region } } : {};
const bundle = context('bundle');

const stack = new Stack(app, context('stackName') ?? 'Byodkim', {
  ...env,
  description: `byodkim: DKIM key lifecycle for ${loaded.domains.length} SES domain(s) (config ${loaded.path})`,
});
const { config } = loaded;
new ByodkimRotation(stack, 'Rotation', {
  domains: config.domains.map((d, i) => ({
    domain: d.domain,
    // Resolved: a domain without regions of its own takes its account's.
    regions: loaded.domains[i]?.regions ?? [],
    createIdentity: d.createIdentity,
    ...(d.selectorPrefix === undefined ? {} : { selectorPrefix: d.selectorPrefix }),
    ...(d.policy === undefined ? {} : { policy: d.policy }),
    ...(d.dns === undefined ? {} : { dns: d.dns }),
    ...(d.account === undefined ? {} : { account: d.account }),
  })),
  // Member accounts (config accounts): each gets its own schedule; deploy a ByodkimMemberRole in each.
  ...(config.accounts === undefined ? {} : { accounts: config.accounts }),
  config: {
    policy: config.policy,
    dns: config.dns,
    ...(config.probe === undefined ? {} : { probe: config.probe }),
    notify: config.notify,
    ...(config.aws === undefined ? {} : { aws: config.aws }),
  },
  state: { type: context('state') === 'dynamodb' ? 'dynamodb' : 'secrets-manager' },
  ...(config.canary === undefined ? {} : { canary: canaryOf(config.canary) }),
  ...(bundle === undefined ? {} : { codeDirectory: resolve(bundle) }),
});

if (context('identityStacks') === 'true') {
  const regions = [...new Set(loaded.domains.flatMap((d) => d.regions))].sort();
  for (const identityRegion of regions) {
    const identities = new Stack(app, `ByodkimSesIdentities-${identityRegion}`, {
      ...(account === undefined ? {} : { env: { account, region: identityRegion } }),
      description: `byodkim: SES identities with DKIM off in ${identityRegion} (phases 1-2)`,
    });
    new ByodkimSesIdentities(identities, 'Identities', {
      domains: loaded.domains
        // Member accounts' identities belong in their own accounts (deploy ses-configuration.yaml there).
        .filter((d) => d.regions.includes(identityRegion) && !d.createIdentity && d.account === undefined)
        .map((d) => d.domain),
    });
  }
}

Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app));

/** The construct's canary for the config's `canary` (the function reads its inbox with this stack's role). */
function canaryOf(canary: CanaryConfig): ByodkimCanary {
  const common = {
    to: canary.to,
    ...(canary.from === undefined ? {} : { from: canary.from }),
    intervalHours: canary.intervalHours,
    switchIntervalMinutes: canary.switchIntervalMinutes,
    retentionHours: canary.retentionHours,
  };
  const { inbox } = canary;
  if (inbox.type === 's3') {
    const zone = context('canaryHostedZoneId');
    return {
      ...common,
      bucketName: inbox.bucket,
      prefix: inbox.prefix,
      ...(zone === undefined ? {} : { hostedZoneId: zone }),
    };
  }
  const where = `${loaded.path}: canary.inbox`;
  if (inbox.passwordSecret === undefined) {
    throw new Error(
      `${where}: the deployed function reads the IMAP password from Secrets Manager; give passwordSecret (passwordEnv and passwordFile are for the CLI)`,
    );
  }
  if (inbox.allowSelfSigned) {
    throw new Error(
      `${where}: allowSelfSigned is for test servers; the deployed function does not accept it`,
    );
  }
  return {
    ...common,
    imap: {
      host: inbox.host,
      port: inbox.port,
      secure: inbox.secure,
      user: inbox.user,
      mailbox: inbox.mailbox,
      passwordSecret: importSecret(inbox.passwordSecret),
    },
  };
}

/** A secret by complete ARN, partial ARN (no random suffix) or name, as Secrets Manager accepts them. */
function importSecret(id: string): secretsmanager.ISecret {
  if (!id.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(stack, 'CanaryImapPassword', id);
  return /-[A-Za-z0-9]{6}$/.test(id)
    ? secretsmanager.Secret.fromSecretCompleteArn(stack, 'CanaryImapPassword', id)
    : secretsmanager.Secret.fromSecretPartialArn(stack, 'CanaryImapPassword', id);
}
