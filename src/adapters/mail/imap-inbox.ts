/**
 * The canary inbox for users who already have a mailbox: IMAP (imapflow). The server finds
 * the domain's canaries itself (SEARCH HEADER on the canary header), so a shared mailbox is
 * read only for what is asked. A message is named by the mailbox's UIDVALIDITY and its UID,
 * so a mailbox rebuilt in between is never emptied by mistake.
 */
import { ImapFlow } from 'imapflow';
import { CANARY_HEADER } from '../../domain/canary.js';
import { ServiceError } from '../../errors.js';
import type { CanaryInbox, InboxMessage } from '../../ports.js';

export interface ImapInboxOptions {
  host: string;
  port: number;
  /** TLS from the start (993); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user: string;
  /** Read when a connection is made (a secret, an environment variable, a file). */
  password: () => Promise<string>;
  mailbox: string;
  /** Accept a certificate no public authority signed (a test server). Default false. */
  allowSelfSigned?: boolean;
}

export class ImapCanaryInbox implements CanaryInbox {
  readonly description: string;
  readonly #options: ImapInboxOptions;

  constructor(options: ImapInboxOptions) {
    this.#options = options;
    this.description = `imap://${options.user}@${options.host}:${options.port}/${options.mailbox}`;
  }

  async #session<T>(work: (client: ImapFlow, uidValidity: string) => Promise<T>): Promise<T> {
    const o = this.#options;
    const client = new ImapFlow({
      host: o.host,
      port: o.port,
      secure: o.secure,
      auth: { user: o.user, pass: await o.password() },
      logger: false,
      ...(o.allowSelfSigned ? { tls: { rejectUnauthorized: false } } : {}),
    });
    // A dropped connection is reported by the call that uses it, not as an unhandled event.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw new ServiceError('IMAP_UNAVAILABLE', `IMAP ${this.description}: ${(error as Error).message}`, {
        context: { host: o.host, user: o.user },
        retryable: true,
      });
    }
    try {
      const lock = await client.getMailboxLock(o.mailbox);
      try {
        const mailbox = client.mailbox;
        const uidValidity = mailbox && typeof mailbox === 'object' ? String(mailbox.uidValidity) : '0';
        return await work(client, uidValidity);
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  collect(domain: string): Promise<InboxMessage[]> {
    return this.#session(async (client, uidValidity) => {
      const uids = await client.search({ header: { [CANARY_HEADER]: `domain=${domain};` } }, { uid: true });
      const found: InboxMessage[] = [];
      for (const uid of uids || []) {
        const message = await client.fetchOne(
          String(uid),
          { source: true, internalDate: true },
          { uid: true },
        );
        // imapflow gives `false` for a message deleted since the search.
        const source = message ? message.source : undefined;
        if (!message || !source) continue;
        const date = message.internalDate;
        found.push({
          ref: `${uidValidity}:${uid}`,
          raw: source.toString('utf8'),
          ...(date ? { storedAt: new Date(date).toISOString() } : {}),
        });
      }
      return found;
    });
  }

  discard(ref: string): Promise<void> {
    const [validity, uid] = ref.split(':');
    return this.#session(async (client, uidValidity) => {
      if (validity !== uidValidity || !uid) return; // another mailbox generation: nothing of ours to delete
      await client.messageDelete(uid, { uid: true });
    });
  }
}
