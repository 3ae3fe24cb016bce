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
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { loadConfig } from '../../src/config/load.js';
import { ByodkimRotation } from '../lib/byodkim-rotation.js';
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
  domains: config.domains.map((d) => ({
    domain: d.domain,
    regions: d.regions,
    createIdentity: d.createIdentity,
    ...(d.selectorPrefix === undefined ? {} : { selectorPrefix: d.selectorPrefix }),
    ...(d.policy === undefined ? {} : { policy: d.policy }),
    ...(d.dns === undefined ? {} : { dns: d.dns }),
  })),
  config: {
    policy: config.policy,
    dns: config.dns,
    ...(config.probe === undefined ? {} : { probe: config.probe }),
    notify: config.notify,
    ...(config.aws === undefined ? {} : { aws: config.aws }),
  },
  state: { type: context('state') === 'dynamodb' ? 'dynamodb' : 'secrets-manager' },
  // The signing canary with an S3 inbox: the stack deploys that inbox (SES receiving here).
  ...(config.canary?.inbox.type === 's3'
    ? {
        canary: {
          to: config.canary.to,
          ...(config.canary.from === undefined ? {} : { from: config.canary.from }),
          intervalHours: config.canary.intervalHours,
          switchIntervalMinutes: config.canary.switchIntervalMinutes,
          retentionHours: config.canary.retentionHours,
          bucketName: config.canary.inbox.bucket,
          prefix: config.canary.inbox.prefix,
          ...(context('canaryHostedZoneId') === undefined
            ? {}
            : { hostedZoneId: context('canaryHostedZoneId') as string }),
        },
      }
    : {}),
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
        .filter((d) => d.regions.includes(identityRegion) && !d.createIdentity)
        .map((d) => d.domain),
    });
  }
}

Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app));
