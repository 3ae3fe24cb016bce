import {
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  PutEmailIdentityDkimSigningAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { DOMAIN, HOUR, type Rig, rsaKey, START, startRig, type TestKey } from './rig.js';

const MINUTE = 60_000;
const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

/** The emulator's own defaults for the SES clock, without the API budget (these tests read a lot). */
async function serviceRig(
  opts: Parameters<typeof startRig>[0] = {},
): Promise<{ rig: Rig; ses: SESv2Client }> {
  const rig = await startRig({ ratePerRegion: null, ...opts }, 'service');
  rigs.push(rig);
  return { rig, ses: rig.client('ap-northeast-1') };
}

async function put(ses: SESv2Client, selector: string, key: TestKey): Promise<void> {
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  await ses.send(
    new PutEmailIdentityDkimSigningAttributesCommand({
      EmailIdentity: DOMAIN,
      SigningAttributesOrigin: 'EXTERNAL',
      SigningAttributes: { DomainSigningSelector: selector, DomainSigningPrivateKey: key.privateKeyBase64 },
    }),
  );
}

const get = (ses: SESv2Client) => ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));

/** Minutes since START of every distinct LastCheckedTimestamp seen while looking every `stepMs` until `untilMs`. */
async function checkMoments(rig: Rig, ses: SESv2Client, stepMs: number, untilMs: number): Promise<number[]> {
  const moments = new Set<number>();
  while (rig.clock.now().getTime() - Date.parse(START) < untilMs) {
    rig.clock.advance(stepMs);
    const checked = (await get(ses)).VerificationInfo?.LastCheckedTimestamp;
    if (checked !== undefined) moments.add((checked.getTime() - Date.parse(START)) / MINUTE);
  }
  return [...moments];
}

describe('the SES clock (SPEC §6)', () => {
  it('checks 5 min after a put, then backs off by doubling up to every 4 hours', async () => {
    const { rig, ses } = await serviceRig();
    await put(ses, 'sel', rsaKey(1024));
    const moments = await checkMoments(rig, ses, 5 * MINUTE, 26 * HOUR);
    expect(moments).toEqual([5, 10, 20, 40, 80, 160, 320, 560, 800, 1040, 1280, 1520]);
    const identity = await get(ses);
    expect(identity.DkimAttributes?.Status).toBe('PENDING');
    expect(identity.VerificationInfo?.ErrorType).toBe('HOST_NOT_FOUND');
  });

  it('does not look before the first check: a record already published is seen at +5 min, not earlier', async () => {
    const { rig, ses } = await serviceRig();
    const key = rsaKey(1024);
    rig.publish('sel', key.publicKeyBase64);
    await put(ses, 'sel', key);

    rig.clock.advance(5 * MINUTE - 1);
    const early = await get(ses);
    expect(early.DkimAttributes?.Status).toBe('PENDING');
    expect(early.VerificationInfo?.LastCheckedTimestamp).toBeUndefined();
    expect((await rig.ses.signSample('ap-northeast-1', DOMAIN)).signedWithDomainKey).toBe(false);

    rig.clock.advance(1);
    const seen = await get(ses);
    expect(seen.DkimAttributes?.Status).toBe('SUCCESS');
    expect(seen.VerificationInfo?.LastSuccessTimestamp).toEqual(new Date(Date.parse(START) + 5 * MINUTE));
    rig.unpublish('sel');
  });

  it('sees a record published between checks only at the next scheduled check', async () => {
    const { rig, ses } = await serviceRig({ verificationDelayMs: 10 * MINUTE });
    const key = rsaKey(1024);
    await put(ses, 'sel', key);
    rig.clock.advance(12 * MINUTE);
    expect((await get(ses)).DkimAttributes?.Status).toBe('PENDING'); // checked at +12 (due since +10)
    rig.publish('sel', key.publicKeyBase64);

    // Next scheduled moment: +10 + 5 = +15 min.
    rig.clock.advance(3 * MINUTE - 1);
    expect((await get(ses)).DkimAttributes?.Status).toBe('PENDING');
    rig.clock.advance(1);
    expect((await get(ses)).DkimAttributes?.Status).toBe('SUCCESS');
    rig.unpublish('sel');
  });

  it('fails exactly at the end of the 72 h window, however sparse the checks have become', async () => {
    const { rig, ses } = await serviceRig();
    await put(ses, 'sel', rsaKey(1024));
    rig.clock.advance(72 * HOUR - 1);
    expect((await get(ses)).DkimAttributes?.Status).toBe('PENDING');
    rig.clock.advance(1);
    const failed = await get(ses);
    expect(failed.DkimAttributes?.Status).toBe('FAILED');
    expect(failed.VerificationInfo?.LastCheckedTimestamp).toEqual(new Date(Date.parse(START) + 72 * HOUR));
  });

  it('rechecks a verified identity every hour, then searches on the backoff schedule', async () => {
    const { rig, ses } = await serviceRig();
    const key = rsaKey(1024);
    rig.publish('sel', key.publicKeyBase64);
    await put(ses, 'sel', key);
    rig.clock.advance(5 * MINUTE);
    expect((await get(ses)).DkimAttributes?.Status).toBe('SUCCESS');

    rig.unpublish('sel');
    rig.clock.advance(HOUR - 1);
    expect((await get(ses)).DkimAttributes?.Status).toBe('SUCCESS');
    rig.clock.advance(1);
    const lost = await get(ses);
    expect(lost.DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    expect(lost.VerifiedForSendingStatus).toBe(true);

    // The recheck window's first check is one pending interval (5 min) later.
    rig.publish('sel', key.publicKeyBase64);
    rig.clock.advance(5 * MINUTE - 1);
    expect((await get(ses)).DkimAttributes?.Status).toBe('TEMPORARY_FAILURE');
    rig.clock.advance(1);
    expect((await get(ses)).DkimAttributes?.Status).toBe('SUCCESS');
    rig.unpublish('sel');
  });

  it('takes its steps from the knobs: constant steps with a backoff of 1', async () => {
    const { rig, ses } = await serviceRig({
      verificationDelayMs: 2 * MINUTE,
      pendingCheckIntervalMs: 30 * MINUTE,
      pendingCheckBackoff: 1,
    });
    await put(ses, 'sel', rsaKey(1024));
    expect(await checkMoments(rig, ses, MINUTE, 3 * HOUR)).toEqual([2, 32, 62, 92, 122, 152]);
  });

  it('checks at every look with a pending interval of 0 (INSTANT_UNLIMITED)', async () => {
    const { rig, ses } = await serviceRig({ verificationDelayMs: 0, pendingCheckIntervalMs: 0 });
    await put(ses, 'sel', rsaKey(1024));
    expect(await checkMoments(rig, ses, 7 * MINUTE, 35 * MINUTE)).toEqual([7, 14, 21, 28, 35]);
  });
});
