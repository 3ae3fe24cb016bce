import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { type Invocation, parseEvent, showValue } from '../../../src/lambda/events.js';
import { fakePem } from '../../support/keys.js';

const scheduled = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'ap-northeast-1',
  resources: ['arn:aws:events:ap-northeast-1:123456789012:rule/byodkim-schedule'],
  detail: {},
};

function stackEvent(status: string) {
  return {
    version: '0',
    id: 'a2b1c6f0-0000-0000-0000-000000000000',
    'detail-type': 'CloudFormation Stack Status Change',
    source: 'aws.cloudformation',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'ap-northeast-1',
    resources: ['arn:aws:cloudformation:ap-northeast-1:123456789012:stack/ses-configuration/1a2b'],
    detail: {
      'stack-id': 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/ses-configuration/1a2b',
      'status-details': { status, 'status-reason': '' },
    },
  };
}

const PEM = fakePem('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');

describe('parseEvent: what the function is asked to do', () => {
  it.each<[string, unknown, Invocation]>([
    ['EventBridge schedule', scheduled, { action: 'phase_manager', trigger: 'schedule' }],
    [
      'stack CREATE_COMPLETE (the seeds DKIMPhaseManagerRule)',
      stackEvent('CREATE_COMPLETE'),
      {
        action: 'phase_manager',
        trigger: 'cloudformation',
        stackId: 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/ses-configuration/1a2b',
        stackStatus: 'CREATE_COMPLETE',
      },
    ],
    [
      'stack UPDATE_COMPLETE',
      stackEvent('UPDATE_COMPLETE'),
      expect.objectContaining({
        action: 'phase_manager',
        trigger: 'cloudformation',
        stackStatus: 'UPDATE_COMPLETE',
      }),
    ],
    [
      'stack UPDATE_IN_PROGRESS is acknowledged and ignored',
      stackEvent('UPDATE_IN_PROGRESS'),
      expect.objectContaining({
        action: 'ignore',
        trigger: 'cloudformation',
        stackStatus: 'UPDATE_IN_PROGRESS',
      }),
    ],
    [
      'stack ROLLBACK_COMPLETE is ignored',
      stackEvent('ROLLBACK_COMPLETE'),
      expect.objectContaining({ action: 'ignore' }),
    ],
    ['the rules fixed input', { action: 'phase_manager' }, { action: 'phase_manager', trigger: 'direct' }],
    [
      'a pass for one domain',
      { action: 'phase_manager', domain: 'example.com' },
      { action: 'phase_manager', trigger: 'direct', domain: 'example.com' },
    ],
    [
      'rotate',
      { action: 'rotate', domain: 'example.com' },
      { action: 'rotate', trigger: 'direct', domain: 'example.com', emergency: false, revokeNow: false },
    ],
    [
      'emergency rotation revoking now',
      { action: 'rotate', domain: 'example.com', emergency: true, revokeNow: true },
      { action: 'rotate', trigger: 'direct', domain: 'example.com', emergency: true, revokeNow: true },
    ],
    [
      'rollback',
      { action: 'rollback', domain: 'example.com' },
      { action: 'rollback', trigger: 'direct', domain: 'example.com' },
    ],
    ['status of all', { action: 'status' }, { action: 'status', trigger: 'direct' }],
    [
      'status of one',
      { action: 'status', domain: 'example.org' },
      { action: 'status', trigger: 'direct', domain: 'example.org' },
    ],
  ])('%s', (_name, event, expected) => {
    expect(parseEvent(event)).toEqual(expected);
  });

  it.each<[string, unknown, string, string | undefined, string]>([
    ['no event', null, 'event', 'null', 'EVENT_INVALID'],
    ['a string', 'phase_manager', 'event', 'phase_manager', 'EVENT_INVALID'],
    ['an array', [], 'event', '[]', 'EVENT_INVALID'],
    ['no action', {}, 'action', 'undefined', 'EVENT_INVALID'],
    ['a misspelt action', { action: 'rotat' }, 'action', 'rotat', 'EVENT_INVALID'],
    ['a numeric action', { action: 7 }, 'action', '7', 'EVENT_INVALID'],
    ['rotate without domain', { action: 'rotate' }, 'domain', 'undefined', 'EVENT_INVALID'],
    ['rollback without domain', { action: 'rollback' }, 'domain', 'undefined', 'EVENT_INVALID'],
    ['an empty domain', { action: 'rotate', domain: ' ' }, 'domain', ' ', 'EVENT_INVALID'],
    ['a numeric domain', { action: 'status', domain: 42 }, 'domain', '42', 'EVENT_INVALID'],
    [
      'emergency as a string',
      { action: 'rotate', domain: 'example.com', emergency: 'yes' },
      'emergency',
      'yes',
      'EVENT_INVALID',
    ],
    [
      'revokeNow without emergency',
      { action: 'rotate', domain: 'example.com', revokeNow: true },
      'revokeNow',
      'true',
      'EVENT_INVALID',
    ],
    [
      'emergency on a rollback',
      { action: 'rollback', domain: 'example.com', emergency: true },
      'emergency',
      'true',
      'EVENT_INVALID',
    ],
    [
      'a misspelt field',
      { action: 'rotate', domian: 'example.com' },
      'domian',
      'example.com',
      'EVENT_INVALID',
    ],
    [
      'another AWS event',
      { source: 'aws.s3', 'detail-type': 'Object Created', detail: {} },
      'detail-type',
      'Object Created',
      'EVENT_UNRECOGNIZED',
    ],
    [
      'a stack event without a status',
      { source: 'aws.cloudformation', 'detail-type': 'CloudFormation Stack Status Change', detail: {} },
      'detail.status-details.status',
      'undefined',
      'EVENT_INVALID',
    ],
  ])('refuses %s, naming the field and the value', (_name, event, field, value, code) => {
    let error: unknown;
    try {
      parseEvent(event);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const e = error as InputError;
    expect(e.code).toBe(code);
    expect(e.context.field).toBe(field);
    expect(e.context.value).toBe(value);
    expect(e.message).toContain(field);
  });

  it.each([
    ['as the domain', { action: 'rotate', domain: PEM }],
    ['as an unknown field', { action: 'rotate', domain: 'example.com', key: PEM }],
  ])('never repeats a private key given %s', (_name, event) => {
    let error: InputError | undefined;
    try {
      parseEvent(event);
    } catch (e) {
      error = e as InputError;
    }
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).not.toContain('MIIEvQ');
    expect(String(error?.context.value)).not.toContain('MIIEvQ');
  });

  it('cuts long values short', () => {
    expect(showValue('x'.repeat(500)).length).toBeLessThanOrEqual(120);
  });
});
