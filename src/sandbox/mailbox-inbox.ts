/**
 * The sandbox's canary inbox: the SES emulator's own mailbox (emulator/SPEC.md §15), read
 * through the product's inbox port. On AWS the canary arrives in the bucket SES receiving's
 * receipt rule writes to (or an IMAP mailbox); the sandbox runs offline, with no S3 and no
 * mail server to receive, so the emulator keeps what it delivers and this adapter reads it.
 * Everything around it is the product's own: SES v2 SendEmail through the AWS SDK, the
 * mailauth judge over the authoritative nameservers, the canary rules in the core.
 */
import type { SesEmulator } from '../../emulator/ses/server.js';
import { canaryTagOf } from '../domain/canary.js';
import type { CanaryInbox, InboxMessage } from '../ports.js';

export class EmulatorMailboxInbox implements CanaryInbox {
  readonly description: string;

  constructor(
    private readonly ses: SesEmulator,
    address: string,
  ) {
    this.description = `the SES emulator's mailbox for ${address}`;
  }

  async collect(domain: string): Promise<InboxMessage[]> {
    return this.ses
      .mailbox()
      .filter((m) => canaryTagOf(m.raw)?.domain === domain)
      .map((m) => ({ ref: m.id, raw: m.raw, storedAt: m.at }));
  }

  async discard(ref: string): Promise<void> {
    this.ses.removeFromMailbox(ref);
  }
}
