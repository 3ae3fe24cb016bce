import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import {
  decodeRoute53Txt,
  encodeRoute53Txt,
  Route53DnsPublisher,
} from '../../../src/adapters/aws/route53.js';
import { buildDkimRecordValue } from '../../../src/domain/record.js';
import { InputError, ServiceError } from '../../../src/errors.js';
import type { DnsRecordChange } from '../../../src/ports.js';
import { describeDnsPublisherContract } from '../../contract/dns-publisher.js';
import { testKey } from '../../support/keys.js';
import { motoClients, motoSupport, useMoto } from '../../support/moto.js';

const support = motoSupport();

const upsert = (name: string, value: string, selector = 's1'): DnsRecordChange => ({
  action: 'upsert',
  name,
  value,
  selector,
  reason: 'test publish',
});
const remove = (name: string, value: string, selector = 's1'): DnsRecordChange => ({
  action: 'delete',
  name,
  value,
  selector,
  reason: 'test retire',
});

describe.skipIf(support.skip)(`Route 53 publisher against moto${support.label}`, () => {
  const moto = useMoto();
  let clients: AwsClientFactory;
  let r53: Route53Client;
  let zoneId: string;
  let mailZoneId: string;
  let contractZoneId: string;

  beforeAll(async () => {
    clients = motoClients(moto.endpoint);
    r53 = clients.client('route53', 'us-east-1', (c) => new Route53Client(c));
    const zone = await r53.send(
      new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'zone-1' }),
    );
    const mail = await r53.send(
      new CreateHostedZoneCommand({ Name: 'mail.example.com', CallerReference: 'zone-2' }),
    );
    const contract = await r53.send(
      new CreateHostedZoneCommand({ Name: 'contract.example', CallerReference: 'zone-3' }),
    );
    zoneId = zone.HostedZone?.Id?.replace('/hostedzone/', '') as string;
    mailZoneId = mail.HostedZone?.Id?.replace('/hostedzone/', '') as string;
    contractZoneId = contract.HostedZone?.Id?.replace('/hostedzone/', '') as string;
  });

  const readSet = async (zone: string, name: string): Promise<ResourceRecordSet | undefined> => {
    const out = await r53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone,
        StartRecordName: name,
        StartRecordType: 'TXT',
        MaxItems: 1,
      }),
    );
    const set = out.ResourceRecordSets?.[0];
    return set?.Name === `${name}.` && set.Type === 'TXT' ? set : undefined;
  };
  const values = async (zone: string, name: string): Promise<string[]> =>
    ((await readSet(zone, name))?.ResourceRecords ?? []).map((r) => decodeRoute53Txt(r.Value ?? ''));

  /** Adds a TXT value byodkim does not own beside whatever the set holds. */
  const plant = async (name: string, value: string): Promise<void> => {
    const current = await readSet(contractZoneId, name);
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: contractZoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: name,
                Type: 'TXT',
                TTL: current?.TTL ?? 300,
                ResourceRecords: [...(current?.ResourceRecords ?? []), { Value: encodeRoute53Txt(value) }],
              },
            },
          ],
        },
      }),
    );
  };

  describeDnsPublisherContract('Route53DnsPublisher (zone found by name)', 'automatic', () => ({
    publisher: new Route53DnsPublisher({ clients }),
    zone: 'contract.example',
    served: (name) => values(contractZoneId, name),
    plant,
  }));

  it('publishes a 2048-bit key record that reads back exactly, split into <=255-byte strings', async () => {
    const key = await testKey('r53-2048', 2048);
    const value = buildDkimRecordValue(key.publicKey);
    expect(value.length).toBeGreaterThan(255);
    const publisher = new Route53DnsPublisher({ clients, ttl: 600 });
    expect(await publisher.apply('example.com', [upsert('s1._domainkey.example.com', value)])).toBe(
      'applied',
    );
    const set = await readSet(zoneId, 's1._domainkey.example.com');
    expect(set?.TTL).toBe(600);
    expect(set?.ResourceRecords).toHaveLength(1);
    const raw = set?.ResourceRecords?.[0]?.Value ?? '';
    const strings = raw.match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(strings.length).toBeGreaterThan(1);
    for (const s of strings) expect(Buffer.byteLength(s.slice(1, -1))).toBeLessThanOrEqual(255);
    expect(await values(zoneId, 's1._domainkey.example.com')).toEqual([value]);
    // Applying the same again changes nothing.
    expect(await publisher.apply('example.com', [upsert('s1._domainkey.example.com', value)])).toBe(
      'applied',
    );
  });

  it("deleting byodkim's value leaves another TXT value at the same name", async () => {
    const name = 's2._domainkey.example.com';
    const ours = buildDkimRecordValue((await testKey('r53-ours', 1024)).publicKey);
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: name,
                Type: 'TXT',
                TTL: 120,
                ResourceRecords: [{ Value: '"someone else\'s \\"value\\""' }, { Value: '"placeholder"' }],
              },
            },
          ],
        },
      }),
    );
    const publisher = new Route53DnsPublisher({ clients, hostedZoneId: zoneId });
    // Put ours beside theirs the way an operator might have; byodkim then removes only its own.
    const current = await readSet(zoneId, name);
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                ...(current as ResourceRecordSet),
                ResourceRecords: [
                  ...(current?.ResourceRecords ?? []).filter((r) => r.Value !== '"placeholder"'),
                  { Value: `"${ours.slice(0, 200)}" "${ours.slice(200)}"` },
                ],
              },
            },
          ],
        },
      }),
    );
    expect(await values(zoneId, name)).toEqual(['someone else\'s "value"', ours]);

    await publisher.apply('example.com', [remove(name, ours)]);
    const after = await readSet(zoneId, name);
    expect(after?.TTL).toBe(120);
    expect(after?.ResourceRecords).toEqual([{ Value: '"someone else\'s \\"value\\""' }]);

    // Deleting again, or deleting a value that is not there, changes nothing.
    await publisher.apply('example.com', [remove(name, ours)]);
    expect(await values(zoneId, name)).toEqual(['someone else\'s "value"']);
    // Deleting the last value removes the record set.
    await publisher.apply('example.com', [remove(name, 'someone else\'s "value"')]);
    expect(await readSet(zoneId, name)).toBeUndefined();
  });

  it('finds the hosted zone with the longest matching name', async () => {
    const publisher = new Route53DnsPublisher({ clients });
    await publisher.apply('mail.example.com', [
      upsert('s1._domainkey.mail.example.com', 'v=DKIM1; k=rsa; p='),
    ]);
    expect(await values(mailZoneId, 's1._domainkey.mail.example.com')).toEqual(['v=DKIM1; k=rsa; p=']);
    expect(await values(zoneId, 's1._domainkey.mail.example.com')).toEqual([]);
    const error = await publisher
      .apply('example.org', [upsert('s1._domainkey.example.org', 'v=DKIM1; k=rsa; p=')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain('s1._domainkey.example.org');
  });

  it('remembers zones it found, so a pass does not repeat lookups (Route 53 allows 5 calls/s)', async () => {
    const counting = new Route53Client(clients.config('route53', 'us-east-1'));
    let lookups = 0;
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListHostedZonesByNameCommand') lookups++;
        return next(args);
      },
      { step: 'initialize', name: 'countLookups' },
    );
    const publisher = new Route53DnsPublisher({ client: counting });
    await publisher.apply('mail.example.com', [
      upsert('c1._domainkey.mail.example.com', 'v=DKIM1; k=rsa; p='),
    ]);
    expect(lookups).toBe(3); // c1._domainkey.mail.example.com, _domainkey.mail.example.com, mail.example.com
    await publisher.apply('mail.example.com', [upsert('c1._domainkey.mail.example.com', 'v=DKIM1; p=')]);
    expect(lookups).toBe(3);
    await publisher.apply('mail.example.com', [
      upsert('c2._domainkey.mail.example.com', 'v=DKIM1; k=rsa; p='),
    ]);
    expect(lookups).toBe(4); // only the new name itself
    expect(await values(mailZoneId, 'c2._domainkey.mail.example.com')).toEqual(['v=DKIM1; k=rsa; p=']);
    counting.destroy();
  });

  // Route 53 applies a DELETE only if it matches the current set exactly, so a set changed
  // after byodkim read it fails the whole batch. moto checks a DELETE against the zone's
  // change history rather than the current set, so the interleaving itself cannot be shown
  // here; what is shown: a DELETE that does not match (the read saw another TTL) fails the
  // batch, and the CREATE in the same batch is not applied either.
  it('fails the whole batch, changing nothing, when the set does not match what was read', async () => {
    const name = 'cas._domainkey.example.com';
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: name,
                Type: 'TXT',
                TTL: 300,
                ResourceRecords: [{ Value: '"ours"' }, { Value: '"theirs"' }],
              },
            },
          ],
        },
      }),
    );
    const staleRead = new Route53Client(clients.config('route53', 'us-east-1'));
    staleRead.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'ListResourceRecordSetsCommand') {
          const output = result.output as { ResourceRecordSets?: ResourceRecordSet[] };
          for (const set of output.ResourceRecordSets ?? []) set.TTL = 301;
        }
        return result;
      },
      { step: 'initialize', name: 'staleRead' },
    );
    const error = await new Route53DnsPublisher({ client: staleRead, hostedZoneId: zoneId })
      .apply('example.com', [remove(name, 'ours')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as Error).message).toContain(`Route 53 ChangeResourceRecordSets for zone ${zoneId}`);
    expect((error as ServiceError).retryable).toBe(false);
    expect(await values(zoneId, name)).toEqual(['ours', 'theirs']);
    staleRead.destroy();
    // With a true read, the same removal goes through.
    await new Route53DnsPublisher({ clients, hostedZoneId: zoneId }).apply('example.com', [
      remove(name, 'ours'),
    ]);
    expect(await values(zoneId, name)).toEqual(['theirs']);
  });

  it('waits for INSYNC with backoff, bounded (moto is INSYNC at once, so PENDING is simulated)', async () => {
    const pending = (remaining: { n: number }) => {
      const client = new Route53Client(clients.config('route53', 'us-east-1'));
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          const name = context.commandName;
          if (
            (name === 'ChangeResourceRecordSetsCommand' || name === 'GetChangeCommand') &&
            remaining.n-- > 0
          ) {
            const output = result.output as { ChangeInfo?: { Status?: string } };
            if (output.ChangeInfo) output.ChangeInfo.Status = 'PENDING';
          }
          return result;
        },
        { step: 'initialize', name: 'pending' },
      );
      return client;
    };
    const sleeps: number[] = [];
    const sleep = async (ms: number): Promise<void> => {
      sleeps.push(ms);
    };
    const client = pending({ n: 3 });
    await new Route53DnsPublisher({ client, hostedZoneId: zoneId, syncPollMs: 1_000, sleep }).apply(
      'example.com',
      [upsert('sync._domainkey.example.com', 'v=DKIM1; k=rsa; p=')],
    );
    expect(sleeps).toEqual([1_000, 2_000]);
    client.destroy();

    const stuck = pending({ n: 1_000 });
    const error = await new Route53DnsPublisher({
      client: stuck,
      hostedZoneId: zoneId,
      syncPollMs: 10,
      syncTimeoutMs: 50,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    })
      .apply('example.com', [upsert('sync2._domainkey.example.com', 'v=DKIM1; k=rsa; p=')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('ROUTE53_NOT_INSYNC');
    expect((error as ServiceError).retryable).toBe(true);
    stuck.destroy();
  });
});
