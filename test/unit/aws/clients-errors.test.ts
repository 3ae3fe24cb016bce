import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AwsClientFactory } from '../../../src/adapters/aws/clients.js';
import { isRetryable, isThrottling, sanitizeText, toServiceError } from '../../../src/adapters/aws/errors.js';
import { ByodkimError, ServiceError } from '../../../src/errors.js';
import { fakePem, secretSlices, testKey } from '../../support/keys.js';

function sdkError(name: string, status: number | undefined, message = 'boom', extra: object = {}): Error {
  const error = new Error(message) as Error & Record<string, unknown>;
  error.name = name;
  if (status !== undefined) error.$metadata = { httpStatusCode: status, requestId: 'req-1', attempts: 3 };
  Object.assign(error, extra);
  return error;
}

describe('AWS client factory', () => {
  it('sets region per call, profile, retries, timeouts; explicit endpoints win; S3 goes path-style behind an endpoint', () => {
    const factory = new AwsClientFactory({
      profile: 'prod',
      endpoints: { s3: 'http://127.0.0.1:5000' },
      maxAttempts: 7,
      env: {},
    });
    expect(factory.config('s3', 'ap-northeast-1')).toEqual({
      region: 'ap-northeast-1',
      profile: 'prod',
      endpoint: 'http://127.0.0.1:5000',
      forcePathStyle: true,
      maxAttempts: 7,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    });
    const ses = factory.config('sesv2', 'eu-west-1');
    // SES is paced by byodkim's own budget; the SDK's adaptive limiter would slow it twice.
    expect(ses.retryMode).toBe('standard');
    expect(ses.endpoint).toBeUndefined();
    expect(ses.forcePathStyle).toBeUndefined();
    expect(factory.config('dynamodb', undefined).region).toBeUndefined();
  });

  it('sends SES v1 (batched health reads) wherever SES v2 goes, unless told otherwise', () => {
    const configured = new AwsClientFactory({ endpoints: { sesv2: 'http://127.0.0.1:4579' }, env: {} });
    expect(configured.config('ses', 'eu-west-1').endpoint).toBe('http://127.0.0.1:4579');
    const byEnv = new AwsClientFactory({ env: { AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:4580' } });
    expect(byEnv.config('ses', 'eu-west-1').endpoint).toBe('http://127.0.0.1:4580');
    const own = new AwsClientFactory({
      env: { AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:4580', AWS_ENDPOINT_URL_SES: 'http://127.0.0.1:4581' },
    });
    expect(own.config('ses', 'eu-west-1').endpoint).toBeUndefined(); // the SDK reads its own variable
    expect(own.endpointOf('ses')).toBe('http://127.0.0.1:4581');
    expect(new AwsClientFactory({ env: {} }).config('ses', 'eu-west-1').endpoint).toBeUndefined();
  });

  it('leaves AWS_ENDPOINT_URL* to the SDK, but knows S3 then needs path-style addressing', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://localhost:4566' };
    const factory = new AwsClientFactory({ env });
    expect(factory.config('s3', 'us-east-1').endpoint).toBeUndefined();
    expect(factory.config('s3', 'us-east-1').forcePathStyle).toBe(true);
    expect(factory.endpointOf('s3')).toBe('http://localhost:4566');
    expect(factory.endpointOf('sesv2')).toBeUndefined();
    const global = new AwsClientFactory({ env: { AWS_ENDPOINT_URL: 'http://localhost:4566' } });
    expect(global.endpointOf('route53')).toBe('http://localhost:4566');
    expect(global.config('s3', 'us-east-1').forcePathStyle).toBe(true);
    const configured = new AwsClientFactory({ env, endpoints: { s3: 'http://127.0.0.1:1' } });
    expect(configured.endpointOf('s3')).toBe('http://127.0.0.1:1');
  });

  it('caches one client per service and region, and destroys them all', () => {
    const factory = new AwsClientFactory({ env: {} });
    let made = 0;
    let destroyed = 0;
    const make = () => {
      made++;
      return { destroy: () => destroyed++ };
    };
    const a = factory.client('s3', 'eu-west-1', make);
    expect(factory.client('s3', 'eu-west-1', make)).toBe(a);
    expect(factory.client('s3', 'eu-west-2', make)).not.toBe(a);
    expect(factory.client('sesv2', 'eu-west-1', make)).not.toBe(a);
    expect(made).toBe(3);
    factory.destroy();
    expect(destroyed).toBe(3);
    factory.client('s3', 'eu-west-1', make);
    expect(made).toBe(4);
  });
});

describe('AWS error mapping', () => {
  const call = {
    service: 'SES',
    operation: 'PutEmailIdentityDkimSigningAttributes',
    region: 'eu-west-1',
    target: { identity: 'example.com', selector: 's1' },
  };

  it.each([
    ['TooManyRequestsException', 429, 'SES_THROTTLED', true],
    ['ThrottlingException', 400, 'SES_THROTTLED', true],
    ['SomethingNew', 429, 'SES_THROTTLED', true],
    ['InternalServiceErrorException', 500, 'SES_UNAVAILABLE', true],
    ['ServiceUnavailable', 503, 'SES_UNAVAILABLE', true],
    ['AccessDeniedException', 403, 'SES_ACCESS_DENIED', false],
    ['NotFoundException', 404, 'SES_NOT_FOUND', false],
    ['BadRequestException', 400, 'SES_REJECTED', false],
  ] as const)('%s (HTTP %s) → %s, retryable %s', (name, status, code, retryable) => {
    const error = toServiceError(sdkError(name, status), call);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(
      `SES PutEmailIdentityDkimSigningAttributes for identity example.com, selector s1 in eu-west-1 failed: ${name}: boom (HTTP ${status}, 3 attempts)`,
    );
    expect(error.context).toMatchObject({
      service: 'SES',
      operation: 'PutEmailIdentityDkimSigningAttributes',
      region: 'eu-west-1',
      identity: 'example.com',
      awsError: name,
      httpStatus: status,
      requestId: 'req-1',
    });
  });

  it('tells an endpoint that cannot be reached (a person must fix it) from one that blipped', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      const error = toServiceError(sdkError('Error', undefined, `connect ${code}`, { code }), call);
      expect(error.code).toBe('SES_UNREACHABLE');
      expect(error.retryable).toBe(false);
    }
    expect(toServiceError(sdkError('TimeoutError', undefined, 'stalled'), call).retryable).toBe(true);
  });

  it('names the endpoint and where it was set when a real client cannot connect', async () => {
    const { SESv2Client, GetEmailIdentityCommand } = await import('@aws-sdk/client-sesv2');
    const factory = new AwsClientFactory({
      credentials: { accessKeyId: 'AKIDUNIT', secretAccessKey: 'unit-not-secret' },
      maxAttempts: 1,
      endpoints: { sesv2: 'http://127.0.0.1:9' },
      configPath: '/etc/byodkim.yaml',
      env: {},
    });
    const client = factory.client('sesv2', 'us-east-1', (c) => new SESv2Client(c));
    const failure = await client
      .send(new GetEmailIdentityCommand({ EmailIdentity: 'example.com' }))
      .catch((e) => e);
    const error = toServiceError(failure, { ...call, operation: 'GetEmailIdentity' });
    factory.destroy();
    expect(error.code).toBe('SES_UNREACHABLE');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain(
      'endpoint http://127.0.0.1:9 (from aws.endpoints.sesv2 in /etc/byodkim.yaml)',
    );
    expect(error.context).toMatchObject({
      endpoint: 'http://127.0.0.1:9',
      endpointSource: 'aws.endpoints.sesv2 in /etc/byodkim.yaml',
    });
  });

  it('names the profile when credentials cannot be loaded', () => {
    const factory = new AwsClientFactory({
      profile: 'nosuchprofile',
      profileSource: '--profile or AWS_PROFILE',
      env: {},
    });
    expect(factory.setupOf('sesv2')).toEqual({
      profile: 'nosuchprofile',
      profileSource: '--profile or AWS_PROFILE',
    });
    const anonymous = new AwsClientFactory({ env: {} });
    expect(anonymous.setupOf('s3')).toEqual({});
    const configured = new AwsClientFactory({
      env: {},
      endpoints: { s3: 'http://s3.local' },
      configPath: '/etc/b.yaml',
    });
    expect(configured.setupOf('s3')).toEqual({
      endpoint: 'http://s3.local',
      endpointSource: 'aws.endpoints.s3 in /etc/b.yaml',
    });
  });

  it('treats network failures as retryable', () => {
    const reset = sdkError('Error', undefined, 'socket hang up', { code: 'ECONNRESET' });
    expect(isRetryable(reset)).toBe(true);
    expect(isThrottling(reset)).toBe(false);
    expect(toServiceError(reset, call).code).toBe('SES_UNAVAILABLE');
    expect(toServiceError(reset, { ...call, region: undefined }).message).toContain('in the default region');
  });

  it('never carries key material an SDK error might echo, nor the original error object', async () => {
    const key = await testKey('errors-unit', 1024);
    const echoing = sdkError(
      'BadRequestException',
      400,
      `Invalid DomainSigningPrivateKey ${key.toSesBase64()} and ${key.toPem()}`,
      { $response: { body: key.toSesBase64() } },
    );
    const error = toServiceError(echoing, call);
    const everything = `${error.message} ${JSON.stringify(error.context)} ${inspect(error, { depth: 10 })}`;
    for (const secret of secretSlices(key)) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(error.cause).not.toBe(echoing);
    expect(error.message).toContain('[redacted]');
  });

  it('sanitizes text: PEM blocks and long base64 runs go, names and ids stay', () => {
    expect(sanitizeText(`${fakePem('MIIabc')} left`)).toBe('[redacted PEM] left');
    expect(sanitizeText(`x ${'A'.repeat(64)}== y`)).toBe('x [redacted] y');
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:byodkim/example.com-AbCdEf';
    expect(sanitizeText(arn)).toBe(arn);
    expect(sanitizeText('z '.repeat(300)).length).toBe(500);
  });

  it('is an instance of the project error family', () => {
    expect(toServiceError(sdkError('X', 500), call)).toBeInstanceOf(ByodkimError);
  });
});
