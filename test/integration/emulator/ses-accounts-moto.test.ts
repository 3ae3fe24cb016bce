/**
 * The SES emulator files identities under the account moto's STS issued the credentials for
 * (emulator/SPEC.md §1): AssumeRole into two member accounts at moto, then SES calls with
 * those credentials land in two separate accounts. Needs moto's server.
 */

import { CreateEmailIdentityCommand, ListEmailIdentitiesCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDnsServer } from '../../../emulator/dns/server.js';
import { SesEmulator } from '../../../emulator/ses/server.js';
import { MOTO_CREDENTIALS, motoQuery, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();
const REGION = 'eu-west-1';

describe.skipIf(support.skip)(`SES emulator accounts through moto's STS${support.label}`, () => {
  const moto = useMoto();
  let dns: EmbeddedDnsServer;
  let ses: SesEmulator;
  const clients: Array<{ destroy(): void }> = [];

  beforeAll(async () => {
    dns = await EmbeddedDnsServer.start();
    ses = await SesEmulator.start({
      dns: { host: dns.host, port: dns.port },
      ratePerRegion: null,
      stsEndpoint: moto.endpoint,
    });
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await ses.stop();
    await dns.stop();
  });

  async function memberSes(account: string): Promise<SESv2Client> {
    const sts = new STSClient({ endpoint: moto.endpoint, region: REGION, credentials: MOTO_CREDENTIALS });
    clients.push(sts);
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/byodkim-member`,
        RoleSessionName: 'byodkim',
        ExternalId: 'emulator-test',
      }),
    );
    const credentials = assumed.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey)
      throw new Error('moto issued no credentials');
    const client = new SESv2Client({
      endpoint: ses.endpoint,
      region: REGION,
      credentials: {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        ...(credentials.SessionToken === undefined ? {} : { sessionToken: credentials.SessionToken }),
      },
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  }

  it('keeps each assumed role’s identities in its own account, and moto’s plain keys in 123456789012', async () => {
    const a = await memberSes('111111111111');
    const b = await memberSes('222222222222');
    const central = new SESv2Client({
      endpoint: ses.endpoint,
      region: REGION,
      credentials: MOTO_CREDENTIALS,
    });
    clients.push(central);
    await a.send(new CreateEmailIdentityCommand({ EmailIdentity: 'a.example.com' }));
    await b.send(new CreateEmailIdentityCommand({ EmailIdentity: 'b.example.com' }));
    await central.send(new CreateEmailIdentityCommand({ EmailIdentity: 'central.example.com' }));

    const names = async (client: SESv2Client) =>
      ((await client.send(new ListEmailIdentitiesCommand({}))).EmailIdentities ?? []).map(
        (e) => e.IdentityName,
      );
    expect(await names(a)).toEqual(['a.example.com']);
    expect(await names(b)).toEqual(['b.example.com']);
    expect(await names(central)).toEqual(['central.example.com']);
    expect(ses.counters('111111111111').CreateEmailIdentity).toBe(1);
    expect(ses.counters('222222222222').CreateEmailIdentity).toBe(1);
    expect(ses.counters('123456789012').CreateEmailIdentity).toBe(1);
  });

  it('still finds the account when moto enforces IAM and refuses its unsigned lookup (moto’s record of issued keys)', async () => {
    await motoQuery(moto.endpoint, 'iam', { Action: 'CreateUser', UserName: 'strict' });
    const key = await motoQuery(moto.endpoint, 'iam', { Action: 'CreateAccessKey', UserName: 'strict' });
    const user = {
      accessKeyId: /<AccessKeyId>([^<]+)</.exec(key)?.[1] ?? '',
      secretAccessKey: /<SecretAccessKey>([^<]+)</.exec(key)?.[1] ?? '',
    };
    await motoQuery(moto.endpoint, 'iam', {
      Action: 'PutUserPolicy',
      UserName: 'strict',
      PolicyName: 'assume',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
      }),
    });
    const member = await (async () => {
      const enforced = await fetch(`${moto.endpoint}/moto-api/reset-auth`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '0',
      });
      expect(enforced.ok).toBe(true);
      const sts = new STSClient({ endpoint: moto.endpoint, region: REGION, credentials: user });
      clients.push(sts);
      const c = (
        await sts.send(
          new AssumeRoleCommand({
            RoleArn: 'arn:aws:iam::444444444444:role/byodkim-member',
            RoleSessionName: 'byodkim',
            ExternalId: 'emulator-test',
          }),
        )
      ).Credentials;
      return new SESv2Client({
        endpoint: ses.endpoint,
        region: REGION,
        credentials: {
          accessKeyId: c?.AccessKeyId ?? '',
          secretAccessKey: c?.SecretAccessKey ?? '',
          sessionToken: c?.SessionToken ?? '',
        },
        maxAttempts: 1,
      });
    })();
    const own = new SESv2Client({
      endpoint: ses.endpoint,
      region: REGION,
      credentials: user,
      maxAttempts: 1,
    });
    clients.push(member, own);
    try {
      await member.send(new CreateEmailIdentityCommand({ EmailIdentity: 'strict-member.example.com' }));
      await own.send(new CreateEmailIdentityCommand({ EmailIdentity: 'strict-own.example.com' }));
    } finally {
      await fetch(`${moto.endpoint}/moto-api/reset-auth`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'inf',
      });
    }
    expect(ses.counters('444444444444').CreateEmailIdentity).toBe(1);
    expect(ses.requests('444444444444')).toEqual([
      { operation: 'CreateEmailIdentity', account: '444444444444', region: REGION, admitted: 'accepted' },
    ]);
    // The IAM user's key is moto's default account's.
    expect(ses.requests('123456789012').map((r) => r.operation)).toContain('CreateEmailIdentity');
  });
});
