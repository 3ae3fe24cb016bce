import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  NotFoundException,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { DOMAIN, type Rig, startRig } from './rig.js';

const rigs: Rig[] = [];
const clients: SESv2Client[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const rig of rigs.splice(0)) await rig.stop();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function rig(...args: Parameters<typeof startRig>): Promise<Rig> {
  const started = await startRig(...args);
  rigs.push(started);
  return started;
}

function client(emulator: Rig, accessKeyId: string, sessionToken?: string): SESv2Client {
  const created = new SESv2Client({
    endpoint: emulator.ses.endpoint,
    region: 'eu-west-1',
    credentials: {
      accessKeyId,
      secretAccessKey: 'not-a-secret',
      ...(sessionToken === undefined ? {} : { sessionToken }),
    },
    maxAttempts: 1,
  });
  clients.push(created);
  return created;
}

async function names(ses: SESv2Client): Promise<string[]> {
  return ((await ses.send(new ListEmailIdentitiesCommand({}))).EmailIdentities ?? []).map(
    (entry) => entry.IdentityName ?? '',
  );
}

/** A stand-in STS answering GetCallerIdentity from a table, recording what it was asked. */
async function fakeSts(accounts: Record<string, string>): Promise<{ endpoint: string; asked: string[] }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const accessKeyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const token = req.headers['x-amz-security-token'];
      asked.push(
        `${body.includes('Action=GetCallerIdentity') ? 'GetCallerIdentity' : body} ${accessKeyId} ${token ?? '-'}`,
      );
      const account = accounts[accessKeyId];
      res.writeHead(account === undefined ? 403 : 200, { 'content-type': 'text/xml' });
      res.end(
        account === undefined
          ? '<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>'
          : `<GetCallerIdentityResponse><GetCallerIdentityResult><Account>${account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
      );
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

describe('identities per account and region (SPEC §1)', () => {
  it('files requests under the account of their access key (static map), others under 123456789012', async () => {
    const emulator = await rig({
      accountsByAccessKey: { AKIDMEMBERA: '111111111111', AKIDMEMBERB: '222222222222' },
    });
    const a = client(emulator, 'AKIDMEMBERA');
    const b = client(emulator, 'AKIDMEMBERB');
    const unmapped = client(emulator, 'AKIDSOMEONE');
    await a.send(new CreateEmailIdentityCommand({ EmailIdentity: 'a.example.com' }));
    await b.send(new CreateEmailIdentityCommand({ EmailIdentity: 'b.example.com' }));
    await b.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await unmapped.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));

    expect(await names(a)).toEqual(['a.example.com']);
    expect(await names(b)).toEqual(['b.example.com', DOMAIN]);
    expect(await names(unmapped)).toEqual([DOMAIN]);
    await expect(a.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }))).rejects.toBeInstanceOf(
      NotFoundException,
    );

    expect(emulator.ses.counters('111111111111')).toEqual({
      CreateEmailIdentity: 1,
      'CreateEmailIdentity@eu-west-1': 1,
      GetEmailIdentity: 1,
      'GetEmailIdentity@eu-west-1': 1,
      ListEmailIdentities: 1,
      'ListEmailIdentities@eu-west-1': 1,
    });
    expect(emulator.ses.counters().CreateEmailIdentity).toBe(4);
    expect(emulator.ses.counters('123456789012').CreateEmailIdentity).toBe(1); // moto's default account
    const byHttp = await fetch(`${emulator.ses.endpoint}/_emulator/counters?account=222222222222`);
    expect(await byHttp.json()).toMatchObject({ CreateEmailIdentity: 2 });

    const signed = await emulator.ses.signSample('eu-west-1', 'b.example.com', { account: '222222222222' });
    expect(signed.signedWithDomainKey).toBe(false);
    await expect(emulator.ses.signSample('eu-west-1', 'b.example.com')).rejects.toMatchObject({
      errorType: 'NotFoundException',
    });
  });

  it('asks STS GetCallerIdentity for unmapped keys (with the session token), once per key and token', async () => {
    const sts = await fakeSts({ ASIAMEMBER: '333333333333' });
    const emulator = await rig({ stsEndpoint: sts.endpoint });
    const member = client(emulator, 'ASIAMEMBER', 'session-token-1');
    await member.send(new CreateEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    await member.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
    expect(sts.asked).toEqual(['GetCallerIdentity ASIAMEMBER session-token-1']);
    expect(emulator.ses.counters('333333333333').CreateEmailIdentity).toBe(1);
    // The same key with another session token is asked about again, and lands in the same account.
    expect(await names(client(emulator, 'ASIAMEMBER', 'session-token-2'))).toEqual([DOMAIN]);
    expect(sts.asked).toEqual([
      'GetCallerIdentity ASIAMEMBER session-token-1',
      'GetCallerIdentity ASIAMEMBER session-token-2',
    ]);
  });

  it('fails a request whose account STS cannot tell with InternalServiceErrorException, and asks again next time', async () => {
    const sts = await fakeSts({});
    const emulator = await rig({ stsEndpoint: sts.endpoint });
    const stranger = client(emulator, 'ASIASTRANGER');
    for (let i = 0; i < 2; i += 1) {
      const error = await stranger.send(new ListEmailIdentitiesCommand({})).then(
        () => undefined,
        (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } },
      );
      expect(error?.name).toBe('InternalServiceErrorException');
      expect(error?.$metadata.httpStatusCode).toBe(500);
      expect(error?.message).toContain(sts.endpoint);
    }
    expect(sts.asked).toHaveLength(2);
    expect(emulator.ses.counters()).toEqual({ ListEmailIdentities: 2, 'ListEmailIdentities@eu-west-1': 2 });
  });

  it('aims injected faults at one account when asked, and files unmapped keys under defaultAccount', async () => {
    const emulator = await rig({
      accountsByAccessKey: { AKIDMEMBERA: '111111111111' },
      defaultAccount: '999999999999',
    });
    emulator.ses.injectFault({ account: '111111111111', status: 500, count: 1 });
    const unmapped = client(emulator, 'AKIDSOMEONE');
    expect(await names(unmapped)).toEqual([]);
    const error = await client(emulator, 'AKIDMEMBERA')
      .send(new ListEmailIdentitiesCommand({}))
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.name).toBe('InternalServiceErrorException');
    expect(emulator.ses.rejections('111111111111')).toEqual({ 'faulted@eu-west-1': 1 });
    expect(emulator.ses.counters('999999999999')).toMatchObject({ ListEmailIdentities: 1 });
  });

  it('logs each request in arrival order with its account, region and admission (SPEC §10)', async () => {
    const emulator = await rig({ accountsByAccessKey: { AKIDMEMBERA: '111111111111' } });
    emulator.ses.injectFault({ account: '111111111111', status: 429, count: 1 });
    const member = client(emulator, 'AKIDMEMBERA');
    await member.send(new ListEmailIdentitiesCommand({})).catch(() => undefined);
    await member.send(new ListEmailIdentitiesCommand({}));
    await names(client(emulator, 'AKIDSOMEONE'));
    expect(emulator.ses.requests()).toEqual([
      { operation: 'ListEmailIdentities', account: '111111111111', region: 'eu-west-1', admitted: 'faulted' },
      {
        operation: 'ListEmailIdentities',
        account: '111111111111',
        region: 'eu-west-1',
        admitted: 'accepted',
      },
      {
        operation: 'ListEmailIdentities',
        account: '123456789012',
        region: 'eu-west-1',
        admitted: 'accepted',
      },
    ]);
    const byHttp = await fetch(`${emulator.ses.endpoint}/_emulator/requests?account=123456789012`);
    expect(await byHttp.json()).toEqual([emulator.ses.requests()[2]]);
    emulator.ses.resetCounters();
    expect(emulator.ses.requests()).toEqual([]);
  });

  it('refuses a default account that is not 12 digits', async () => {
    await expect(startRig({ defaultAccount: '1234' })).rejects.toThrow(/defaultAccount must be a 12-digit/);
  });
});
