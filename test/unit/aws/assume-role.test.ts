/**
 * A member account's credentials: cached, renewed before they expire, one AssumeRole for many
 * callers, and a refusal that names the account and the role. STS is a stand-in here (call
 * shapes and timing of the cache); test/integration/aws/accounts.test.ts assumes real roles at
 * moto's STS.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  AssumedRoleCredentials,
  AssumeRoleError,
  REFRESH_BEFORE_EXPIRY_MS,
  REFUSAL_MEMORY_MS,
} from '../../../src/adapters/aws/assume-role.js';

const ACCOUNT = { name: 'brand-a', roleArn: 'arn:aws:iam::111111111111:role/byodkim-member' };
const HOUR = 3_600_000;

/** An STS stand-in: answers each AssumeRole with the next of `answers` (credentials valid an hour from `now`). */
function fakeSts(now: () => number, answers: Array<'ok' | Error>) {
  const inputs: AssumeRoleCommand['input'][] = [];
  let n = 0;
  return {
    inputs,
    client: {
      send: async (command: unknown) => {
        expect(command).toBeInstanceOf(AssumeRoleCommand);
        inputs.push((command as AssumeRoleCommand).input);
        const answer = answers[Math.min(n, answers.length - 1)];
        n++;
        if (answer instanceof Error) throw answer;
        return {
          Credentials: {
            AccessKeyId: `ASIA${n}`,
            SecretAccessKey: `secret-${n}`,
            SessionToken: `token-${n}`,
            Expiration: new Date(now() + HOUR),
          },
        };
      },
    },
  };
}

function awsError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('AssumedRoleCredentials', () => {
  it('assumes the role with its external ID and a session named for the account', async () => {
    const now = 0;
    const sts = fakeSts(() => now, ['ok']);
    const credentials = new AssumedRoleCredentials({
      account: ACCOUNT,
      externalId: 'byodkim-ext',
      sts: () => sts.client,
      now: () => now,
    });
    const got = await credentials.provider();
    expect(got).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 'token-1' });
    expect(sts.inputs).toEqual([
      {
        RoleArn: ACCOUNT.roleArn,
        ExternalId: 'byodkim-ext',
        RoleSessionName: 'byodkim-brand-a',
        DurationSeconds: 3600,
      },
    ]);
  });

  it('serves many callers with one AssumeRole, and renews only when expiry comes near', async () => {
    let now = 0;
    const sts = fakeSts(() => now, ['ok']);
    const credentials = new AssumedRoleCredentials({
      account: ACCOUNT,
      externalId: 'byodkim-ext',
      sts: () => sts.client,
      now: () => now,
    });
    const first = await Promise.all(Array.from({ length: 20 }, () => credentials.provider()));
    expect(new Set(first.map((c) => c.accessKeyId))).toEqual(new Set(['ASIA1']));
    now = HOUR - REFRESH_BEFORE_EXPIRY_MS - 1; // still more than the margin left
    expect((await credentials.provider()).accessKeyId).toBe('ASIA1');
    now = HOUR - REFRESH_BEFORE_EXPIRY_MS + 1; // inside the margin: renewed before expiry
    expect((await credentials.provider()).accessKeyId).toBe('ASIA2');
    expect(credentials.calls).toBe(2);
  });

  it('refuses with an error naming the account and the role, and remembers a refusal for a while', async () => {
    let now = 0;
    const denied = awsError(
      'AccessDenied',
      403,
      'User: arn:aws:iam::123456789012:user/central is not authorized to perform: sts:AssumeRole',
    );
    const sts = fakeSts(() => now, [denied, 'ok']);
    const credentials = new AssumedRoleCredentials({
      account: ACCOUNT,
      externalId: 'byodkim-ext',
      sts: () => sts.client,
      now: () => now,
    });
    const error = await credentials.provider().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleError);
    const e = error as AssumeRoleError;
    expect(e.code).toBe('ASSUME_ROLE_FAILED');
    expect(e.exitCode).toBe(1);
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(`account "brand-a": cannot assume ${ACCOUNT.roleArn}: AccessDenied: User:`);
    expect(e.message).toContain('(HTTP 403)');
    expect(e.context).toMatchObject({
      account: 'brand-a',
      roleArn: ACCOUNT.roleArn,
      awsError: 'AccessDenied',
    });
    // Every domain of the account asks; STS is asked once while the refusal is remembered.
    await expect(credentials.provider()).rejects.toBe(error);
    expect(credentials.calls).toBe(1);
    now += REFUSAL_MEMORY_MS + 1;
    expect((await credentials.provider()).accessKeyId).toBe('ASIA2');
    expect(credentials.calls).toBe(2);
  });

  it('asks again at once after a transient STS failure (throttled, 5xx)', async () => {
    const now = 0;
    const sts = fakeSts(() => now, [awsError('Throttling', 400, 'Rate exceeded'), 'ok']);
    const credentials = new AssumedRoleCredentials({
      account: ACCOUNT,
      externalId: 'byodkim-ext',
      sts: () => sts.client,
      now: () => now,
    });
    const error = (await credentials.provider().catch((e: unknown) => e)) as AssumeRoleError;
    expect(error.retryable).toBe(true);
    expect((await credentials.provider()).accessKeyId).toBe('ASIA2');
  });
});
