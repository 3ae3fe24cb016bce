/**
 * Member accounts (config `accounts[]`) in the composition root: one client factory per
 * account, with that account's assumed-role credentials, shared by everything that acts in it
 * (SES in every region, Route 53 zones that live there, the canary's sender), so each role is
 * assumed once per session. Everything else — vault, state, notifications — keeps the
 * caller's own factory: keys and state never leave the central account.
 *
 * The STS SDK is loaded only when a config has accounts.
 */
import type { AwsClientFactory } from '../adapters/aws/clients.js';
import { InputError } from '../errors.js';
import type { LoadedConfig } from './load.js';
import type { AccountConfig } from './schema.js';

const members = new WeakMap<AwsClientFactory, Map<string, Promise<AwsClientFactory>>>();

/** The region STS is asked in when the environment names none: the partition's first. */
const PARTITION_REGION: Readonly<Record<string, string>> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
};

/**
 * The client factory for `account` (an `accounts[].name`), derived from the caller's own
 * factory `own`; undefined: `own` itself. One per account and own factory.
 */
export function accountClients(
  loaded: LoadedConfig,
  own: AwsClientFactory,
  account: string | undefined,
): Promise<AwsClientFactory> {
  if (account === undefined) return Promise.resolve(own);
  let byName = members.get(own);
  if (byName === undefined) {
    byName = new Map();
    members.set(own, byName);
  }
  let factory = byName.get(account);
  if (factory === undefined) {
    factory = memberFactory(own, configuredAccount(loaded, account));
    byName.set(account, factory);
  }
  return factory;
}

function configuredAccount(loaded: LoadedConfig, name: string): AccountConfig {
  const found = loaded.config.accounts?.find((a) => a.name === name);
  if (!found) {
    throw new InputError('ACCOUNT_UNKNOWN', `${loaded.path}: account "${name}" is not in accounts`, {
      context: { path: loaded.path, value: name },
    });
  }
  return found;
}

async function memberFactory(own: AwsClientFactory, account: AccountConfig): Promise<AwsClientFactory> {
  const [{ AssumedRoleCredentials }, { STSClient }] = await Promise.all([
    import('../adapters/aws/assume-role.js'),
    import('@aws-sdk/client-sts'),
  ]);
  const partition = account.roleArn.split(':')[1] ?? 'aws';
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || PARTITION_REGION[partition];
  const credentials = new AssumedRoleCredentials({
    account: { name: account.name, roleArn: account.roleArn },
    externalId: account.externalId,
    // STS with the caller's own credentials: the one client of the process, shared by every account.
    sts: () => own.client('sts', region, (config) => new STSClient(config)),
  });
  return own.forAccount(credentials.account, credentials.provider);
}
