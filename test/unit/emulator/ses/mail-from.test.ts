import {
  BadRequestException,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  NotFoundException,
  PutEmailIdentityMailFromAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { mxRdata } from '../../../../emulator/dns/wire.js';
import { DOMAIN, HOUR, type Rig, startRig } from './rig.js';

const MINUTE = 60_000;
const REGION = 'ap-northeast-1';
const MAIL_FROM = `bounce.${DOMAIN}`;
const FEEDBACK = `feedback-smtp.${REGION}.amazonses.com`;

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

/** The SES clock's defaults (first check 5 min after the put), without the API budget. */
async function setUp(opts: Parameters<typeof startRig>[0] = {}): Promise<{ rig: Rig; ses: SESv2Client }> {
  const rig = await startRig({ ratePerRegion: null, ...opts }, 'service');
  rigs.push(rig);
  const ses = rig.client(REGION);
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  return { rig, ses };
}

function putMailFrom(ses: SESv2Client, input: { MailFromDomain?: string; BehaviorOnMxFailure?: string }) {
  return ses.send(
    new PutEmailIdentityMailFromAttributesCommand({
      EmailIdentity: DOMAIN,
      ...input,
    } as ConstructorParameters<typeof PutEmailIdentityMailFromAttributesCommand>[0]),
  );
}

async function mailFrom(ses: SESv2Client) {
  return (await ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }))).MailFromAttributes;
}

function publishMx(rig: Rig, ...exchanges: string[]): void {
  rig.dns.store.setRecords(
    MAIL_FROM,
    'MX',
    exchanges.map((exchange) => mxRdata(10, exchange)),
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to be rejected');
}

describe('PutEmailIdentityMailFromAttributes and MailFromAttributes (SPEC §2.7, §7)', () => {
  it('reports only BehaviorOnMxFailure without a custom domain, and the domain with its status once set', async () => {
    const { ses } = await setUp();
    expect(await mailFrom(ses)).toEqual({ BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' });
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM, BehaviorOnMxFailure: 'REJECT_MESSAGE' });
    expect(await mailFrom(ses)).toEqual({
      MailFromDomain: MAIL_FROM,
      MailFromDomainStatus: 'PENDING',
      BehaviorOnMxFailure: 'REJECT_MESSAGE',
    });
    await putMailFrom(ses, {});
    expect(await mailFrom(ses)).toEqual({ BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' });
  });

  it('refuses a MAIL FROM domain that is not a subdomain of the identity, and an unknown behaviour', async () => {
    const { ses } = await setUp();
    for (const domain of [DOMAIN, 'bounce.example.org', `bounce.not${DOMAIN}`, 'not a domain']) {
      const error = await rejection(putMailFrom(ses, { MailFromDomain: domain }));
      expect(error, domain).toBeInstanceOf(BadRequestException);
    }
    expect(
      await rejection(putMailFrom(ses, { MailFromDomain: MAIL_FROM, BehaviorOnMxFailure: 'BOUNCE' })),
    ).toBeInstanceOf(BadRequestException);
    expect(
      await rejection(
        ses.send(
          new PutEmailIdentityMailFromAttributesCommand({
            EmailIdentity: 'nobody.example',
            MailFromDomain: MAIL_FROM,
          }),
        ),
      ),
    ).toBeInstanceOf(NotFoundException);
    expect(await mailFrom(ses)).toEqual({ BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' });
  });

  it('goes SUCCESS at the first scheduled check that finds SES’s MX for the region, and mail then uses it', async () => {
    const { rig, ses } = await setUp();
    publishMx(rig, FEEDBACK);
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    rig.clock.advance(5 * MINUTE - 1);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    const before = await rig.ses.signSample(REGION, DOMAIN);
    expect(before.envelopeFrom).toBe(`bounce@${REGION}.amazonses.com`);

    rig.clock.advance(1);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('SUCCESS');
    const after = await rig.ses.signSample(REGION, DOMAIN);
    expect(after.envelopeFrom).toBe(`bounce@${MAIL_FROM}`);
    expect(after.message).toMatch(
      new RegExp(`^Return-Path: <bounce@${MAIL_FROM.replace(/\./g, '\\.')}>`, 'm'),
    );
  });

  it('does not accept another region’s feedback host, or any MX besides SES’s', async () => {
    const { rig, ses } = await setUp();
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    publishMx(rig, 'feedback-smtp.us-east-1.amazonses.com');
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    publishMx(rig, FEEDBACK, 'mx.example.com');
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    publishMx(rig, FEEDBACK);
    rig.clock.advance(10 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('SUCCESS');
  });

  it('goes FAILED when the MX is never found within 72 hours', async () => {
    const { rig, ses } = await setUp();
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    rig.clock.advance(72 * HOUR - 1);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    rig.clock.advance(1);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('FAILED');
    publishMx(rig, FEEDBACK);
    rig.clock.advance(HOUR);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('FAILED'); // until a new put
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('SUCCESS');
  });

  it('rechecks a SUCCESS: a record that no longer exists is FAILED, a DNS failure TEMPORARY_FAILURE', async () => {
    const { rig, ses } = await setUp();
    publishMx(rig, FEEDBACK);
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('SUCCESS');

    rig.dns.setFault(MAIL_FROM, 'servfail');
    rig.clock.advance(HOUR);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('TEMPORARY_FAILURE');
    rig.dns.setFault(MAIL_FROM, undefined);
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('SUCCESS');

    rig.dns.store.remove(MAIL_FROM, 'MX');
    rig.clock.advance(HOUR);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('FAILED');
    expect((await rig.ses.signSample(REGION, DOMAIN)).envelopeFrom).toBe(`bounce@${REGION}.amazonses.com`);
  });

  it('refuses to send with REJECT_MESSAGE while the MAIL FROM domain is not SUCCESS', async () => {
    const { rig, ses } = await setUp();
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM, BehaviorOnMxFailure: 'REJECT_MESSAGE' });
    await expect(rig.ses.signSample(REGION, DOMAIN)).rejects.toMatchObject({
      errorType: 'MailFromDomainNotVerifiedException',
    });
    const response = await fetch(`${rig.ses.endpoint}/_emulator/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: REGION, identity: DOMAIN }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('MailFromDomainNotVerifiedException');
  });

  it('sends mail from an address with its own MAIL FROM setting if it has one, else its domain’s', async () => {
    const { rig, ses } = await setUp();
    const address = `someone@${DOMAIN}`;
    const own = `own.${DOMAIN}`;
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: address }));
    publishMx(rig, FEEDBACK);
    rig.dns.store.setRecords(own, 'MX', [mxRdata(10, FEEDBACK)]);
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    rig.clock.advance(5 * MINUTE);
    expect((await rig.ses.signSample(REGION, address)).envelopeFrom).toBe(`bounce@${MAIL_FROM}`);

    await ses.send(
      new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: address, MailFromDomain: own }),
    );
    rig.clock.advance(5 * MINUTE);
    expect((await rig.ses.signSample(REGION, address)).envelopeFrom).toBe(`bounce@${own}`);
    expect((await rig.ses.signSample(REGION, DOMAIN)).envelopeFrom).toBe(`bounce@${MAIL_FROM}`);
  });

  it('needs SES’s MX only by default, and also the SPF record with mailFromRequiresSpf', async () => {
    const lenient = await setUp();
    publishMx(lenient.rig, FEEDBACK);
    await putMailFrom(lenient.ses, { MailFromDomain: MAIL_FROM });
    lenient.rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(lenient.ses))?.MailFromDomainStatus).toBe('SUCCESS');

    const { rig, ses } = await setUp({ mailFromRequiresSpf: true });
    publishMx(rig, FEEDBACK);
    await putMailFrom(ses, { MailFromDomain: MAIL_FROM });
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    rig.dns.store.setTxt(MAIL_FROM, 'v=spf1 include:_spf.example.net ~all');
    rig.clock.advance(5 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    rig.dns.store.addTxt(MAIL_FROM, 'v=spf1 include:amazonses.com ~all'); // two SPF records: permerror
    rig.clock.advance(10 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('PENDING');
    rig.dns.store.setTxt(MAIL_FROM, 'v=spf1 include:amazonses.com ~all');
    rig.clock.advance(20 * MINUTE);
    expect((await mailFrom(ses))?.MailFromDomainStatus).toBe('SUCCESS');
  });
});
