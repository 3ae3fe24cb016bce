/**
 * Builds, before byodkim ever runs, the kind of set-up `byodkim adopt` exists for: an SES
 * identity that already signs with a BYODKIM key made by someone else (the seed system's
 * Lambda, or the manual runbook), its TXT record in DNS, and its private key in the seed
 * system's layout `<keys>/<domain>/<selector>/private_key.pem`.
 *
 * SES is set up with the real AWS SDK, exactly as the runbook's step 2.3 does with the AWS
 * CLI (PutEmailIdentityDkimSigningAttributes, origin EXTERNAL); the key goes from memory to
 * the API call and to the vault file, never to the output.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DkimPrivateKey, generateDkimKey } from '../domain/key.js';
import { buildDkimRecordValue, dkimRecordName, splitTxtValue } from '../domain/record.js';
import { DEFAULT_SELECTOR_TEMPLATE, renderSelector } from '../domain/selector.js';
import { ADOPTED_PREFIX, SANDBOX_REGIONS, type SandboxWorld } from './world.js';

export interface ExistingSetup {
  domain: string;
  selector: string;
  /** What the seed system's config records for the key (its secret's created/expires fields). */
  createdAt: string;
  expiresAt: string;
  keyPath: string;
  /** Per region, SES's DKIM status after the set-up. */
  sesStatus: Record<string, string>;
}

/** Fixed credentials for the emulator: it accepts any, and real ones must never be sent to it. */
export const EMULATOR_CREDENTIALS = {
  accessKeyId: 'AKIDSANDBOX',
  secretAccessKey: 'sandbox-not-a-secret',
};

export async function createExistingSetup(
  world: SandboxWorld,
  options: { domain: string; keysDir: string; bits: 1024 | 2048; createdAt: Date; validityDays: number },
): Promise<ExistingSetup> {
  const { domain } = options;
  const key = await generateDkimKey(options.bits);
  const selector = renderSelector(DEFAULT_SELECTOR_TEMPLATE, ADOPTED_PREFIX, options.createdAt, 1);

  const dir = join(options.keysDir, domain, selector);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'private_key.pem');
  await writeFile(keyPath, key.toPem(), { mode: 0o600, flag: 'wx' });

  world.zones.setTxt(dkimRecordName(selector, domain), splitTxtValue(buildDkimRecordValue(key.publicKey)));
  world.syncSecondary();

  // The seed system set this up when it made the key: SES verified it then, on its own clock.
  const now = world.clock.now();
  world.clock.set(options.createdAt);
  for (const region of SANDBOX_REGIONS) await putExternalKey(world, region, domain, selector, key);
  world.clock.advance(SES_FIRST_CHECK_AFTER_MS);
  const sesStatus: Record<string, string> = {};
  for (const region of SANDBOX_REGIONS) sesStatus[region] = await dkimStatus(world, region, domain);
  world.clock.set(now);

  return {
    domain,
    selector,
    createdAt: options.createdAt.toISOString(),
    expiresAt: new Date(options.createdAt.getTime() + options.validityDays * 86_400_000).toISOString(),
    keyPath,
    sesStatus,
  };
}

/** Long enough for the emulator's first DNS check after a put (emulator/SPEC.md §6). */
const SES_FIRST_CHECK_AFTER_MS = 10 * 60_000;

async function dkimStatus(world: SandboxWorld, region: string, domain: string): Promise<string> {
  const { SESv2Client, GetEmailIdentityCommand } = await import('@aws-sdk/client-sesv2');
  const client = sesClient(SESv2Client, world, region);
  try {
    const identity = await client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
    return identity.DkimAttributes?.Status ?? 'unknown';
  } finally {
    client.destroy();
  }
}

/** A client like the seed system's: the real SDK, retrying when SES's one-per-second budget throttles it. */
function sesClient<C>(
  Client: new (config: Record<string, unknown>) => C,
  world: SandboxWorld,
  region: string,
): C {
  return new Client({
    region,
    endpoint: world.ses.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 6,
  });
}

async function putExternalKey(
  world: SandboxWorld,
  region: string,
  domain: string,
  selector: string,
  key: DkimPrivateKey,
): Promise<void> {
  const { SESv2Client, CreateEmailIdentityCommand, PutEmailIdentityDkimSigningAttributesCommand } =
    await import('@aws-sdk/client-sesv2');
  const client = sesClient(SESv2Client, world, region);
  try {
    // The seed system's calls, a second apart: SES's budget is one request per second per region.
    world.clock.advance(1000);
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
    world.clock.advance(1000);
    await client.send(
      new PutEmailIdentityDkimSigningAttributesCommand({
        EmailIdentity: domain,
        SigningAttributesOrigin: 'EXTERNAL',
        SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: key.toSesBase64() },
      }),
    );
  } finally {
    client.destroy();
  }
}
