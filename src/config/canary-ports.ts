/**
 * The canary's adapters for a loaded config: one SES sender, one judge (mailauth over the
 * authoritative nameservers, from the `probe` settings), and one inbox per distinct inbox
 * setting, so domains sharing an inbox share its reader. Loaded only when a domain has a
 * canary: a config without one never loads imapflow or mailauth.
 */
import { readFile } from 'node:fs/promises';
import type { AwsClientFactory } from '../adapters/aws/clients.js';
import { InputError } from '../errors.js';
import type { CanaryInbox, CanaryPorts, MailJudge, MailSender } from '../ports.js';
import { accountClients } from './accounts.js';
import { buildAwsClients } from './compose.js';
import type { LoadedConfig } from './load.js';
import type { CanaryInboxConfig } from './schema.js';

export interface CanaryWiring {
  awsClients?: AwsClientFactory;
  /** Overrides for front ends and tests that bring their own. */
  sender?: MailSender;
  judge?: MailJudge;
  /** One inbox for every domain with a canary, in place of the configured ones (the sandbox's). */
  inbox?: CanaryInbox;
  env?: NodeJS.ProcessEnv;
}

export type CanaryPortsFor = (domain: string) => CanaryPorts | undefined;

export async function buildCanaryPorts(
  loaded: LoadedConfig,
  wiring: CanaryWiring = {},
): Promise<CanaryPortsFor | undefined> {
  const withCanary = loaded.domains.filter((d) => d.canary && d.canaryInbox);
  if (withCanary.length === 0) return undefined;
  const clients = (): Promise<AwsClientFactory> =>
    Promise.resolve(wiring.awsClients ?? buildAwsClients(loaded));
  // A canary leaves through SES in its domain's account: one sender per account.
  const senders = new Map<string | undefined, MailSender>();
  const senderOf = async (account: string | undefined): Promise<MailSender> => {
    if (wiring.sender) return wiring.sender;
    let sender = senders.get(account);
    if (!sender) {
      const { SesMailSender } = await import('../adapters/aws/ses-mail.js');
      sender = new SesMailSender({ clients: await accountClients(loaded, await clients(), account) });
      senders.set(account, sender);
    }
    return sender;
  };
  const judge =
    wiring.judge ??
    (await (async () => {
      const [{ mailJudge }, { buildMailResolver }] = await Promise.all([
        import('../doctor/mail-judge.js'),
        import('../doctor/mail-resolver.js'),
      ]);
      return mailJudge(buildMailResolver(loaded.config));
    })());
  const inboxes = new Map<string, CanaryInbox>();
  const byDomain = new Map<string, CanaryPorts>();
  for (const d of withCanary) {
    const config = d.canaryInbox as CanaryInboxConfig;
    const key = JSON.stringify(config);
    let inbox = wiring.inbox ?? inboxes.get(key);
    if (!inbox) {
      inbox = await buildInbox(config, clients, wiring.env ?? process.env);
      inboxes.set(key, inbox);
    }
    byDomain.set(d.domain, { sender: await senderOf(d.account), judge, inbox });
  }
  return (domain) => byDomain.get(domain);
}

async function buildInbox(
  config: CanaryInboxConfig,
  clients: () => Promise<AwsClientFactory>,
  env: NodeJS.ProcessEnv,
): Promise<CanaryInbox> {
  if (config.type === 's3') {
    const { S3CanaryInbox } = await import('../adapters/aws/s3-inbox.js');
    return new S3CanaryInbox({
      bucket: config.bucket,
      prefix: config.prefix,
      clients: await clients(),
      ...(config.region === undefined ? {} : { region: config.region }),
    });
  }
  const { ImapCanaryInbox } = await import('../adapters/mail/imap-inbox.js');
  return new ImapCanaryInbox({
    host: config.host,
    port: config.port,
    secure: config.secure,
    user: config.user,
    mailbox: config.mailbox,
    allowSelfSigned: config.allowSelfSigned,
    password: passwordSource(config, clients, env),
  });
}

/** The IMAP password, read when a connection is made; never kept in the config or logged. */
function passwordSource(
  config: Extract<CanaryInboxConfig, { type: 'imap' }>,
  clients: () => Promise<AwsClientFactory>,
  env: NodeJS.ProcessEnv,
): () => Promise<string> {
  if (config.passwordEnv !== undefined) {
    const name = config.passwordEnv;
    return async () => {
      const value = env[name];
      if (!value)
        throw new InputError('CANARY_PASSWORD_MISSING', `canary.inbox.passwordEnv: ${name} is not set`, {
          context: { passwordEnv: name },
        });
      return value;
    };
  }
  if (config.passwordFile !== undefined) {
    const file = config.passwordFile;
    return async () => (await readFile(file, 'utf8')).trim();
  }
  const secretId = config.passwordSecret as string;
  return async () => {
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const factory = await clients();
    const output = await factory
      .client('secretsmanager', undefined, (c) => new SecretsManagerClient(c))
      .send(new GetSecretValueCommand({ SecretId: secretId }));
    const text = output.SecretString ?? '';
    try {
      const parsed = JSON.parse(text) as { password?: unknown };
      if (typeof parsed.password === 'string') return parsed.password;
    } catch {
      // a plain string secret
    }
    return text;
  };
}
