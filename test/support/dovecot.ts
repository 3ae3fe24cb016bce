/**
 * A real Dovecot (Debian's dovecot-imapd and dovecot-lmtpd) for tests: a plain process on
 * 127.0.0.1, unprivileged ports, a throwaway base directory, one user with a generated
 * password, maildir storage. LMTP takes mail in (the SES emulator's SMTP/LMTP sink), IMAP
 * lets byodkim read it back. Dovecot's own Received header is off: it would carry the wall
 * clock, while the emulator stamps delivery on its (virtual) clock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface Dovecot {
  host: string;
  imapPort: number;
  lmtpPort: number;
  user: string;
  password: string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not open port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `address`: the one mailbox, which is also the IMAP user name. */
export async function startDovecot(address: string, binary = '/usr/sbin/dovecot'): Promise<Dovecot> {
  const dir = await mkdtemp(join(tmpdir(), 'byodkim-dovecot-'));
  const [imapPort, lmtpPort] = [await freePort(), await freePort()];
  const user = address.toLowerCase();
  const password = randomBytes(12).toString('hex');
  const me = userInfo();
  // Dovecot refuses to store mail as root: as root, the mailbox belongs to nobody (65534).
  const owner = me.uid === 0 ? { uid: 65534, gid: 65534 } : { uid: me.uid, gid: me.gid };
  await chmod(dir, 0o755); // the mailbox owner must reach its home under it
  await mkdir(join(dir, 'run'), { recursive: true });
  await mkdir(join(dir, 'mail'), { recursive: true });
  await chown(join(dir, 'mail'), owner.uid, owner.gid);
  await writeFile(
    join(dir, 'users'),
    `${user}:{PLAIN}${password}:${owner.uid}:${owner.gid}::${join(dir, 'mail', 'box')}\n`,
    {
      mode: 0o600,
    },
  );
  const config = [
    `base_dir = ${join(dir, 'run')}`,
    `state_dir = ${join(dir, 'state')}`,
    'protocols = imap lmtp',
    'listen = 127.0.0.1',
    `log_path = ${join(dir, 'dovecot.log')}`,
    // Login processes must not run as root: as root they run as nobody.
    `default_login_user = ${me.uid === 0 ? 'nobody' : me.username}`,
    `default_internal_user = ${me.username}`,
    `default_internal_group = ${me.username === 'root' ? 'root' : me.username}`,
    'ssl = no',
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    'mail_location = maildir:~/Maildir',
    'lmtp_add_received_header = no',
    'first_valid_uid = 1',
    'first_valid_gid = 1',
    `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN ${join(dir, 'users')}\n}`,
    `userdb {\n  driver = passwd-file\n  args = ${join(dir, 'users')}\n}`,
    `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${imapPort}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
    `service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = ${lmtpPort}\n  }\n  unix_listener lmtp {\n    mode = 0600\n  }\n}`,
    'service stats {\n  unix_listener stats-reader {\n    mode = 0600\n  }\n  unix_listener stats-writer {\n    mode = 0600\n  }\n}',
    'auth_username_format = %Lu',
    '',
  ].join('\n');
  await writeFile(join(dir, 'dovecot.conf'), config);
  const child: ChildProcess = spawn(binary, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: 'ignore' });
  try {
    await waitForPort(imapPort, 15_000);
    await waitForPort(lmtpPort, 15_000);
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  return {
    host: '127.0.0.1',
    imapPort,
    lmtpPort,
    user,
    password,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
