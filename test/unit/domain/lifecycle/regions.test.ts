import { describe, expect, it } from 'vitest';
import { aKey, aSpec, aState, plan, sesOn, stepsOf } from '../../../support/builders.js';

const signing = aState([aKey('k1', 'active')]);

describe('which regions byodkim acts on', () => {
  it.each([
    {
      name: 'SES unreadable: wait (outside), touch nothing',
      view: 'AccessDenied' as const,
      wait: 'SesUnavailable',
      warning: undefined,
    },
    {
      name: 'identity missing, not to be created',
      view: sesOn(undefined, undefined, { exists: false }),
      wait: undefined,
      warning: 'IdentityMissing',
    },
    {
      name: 'Easy DKIM signing, not handed over',
      view: sesOn(undefined, 'SUCCESS', { origin: 'AWS_SES' }),
      wait: undefined,
      warning: 'EasyDkimInUse',
    },
    {
      name: 'a selector byodkim did not set',
      view: sesOn('someone-else'),
      wait: undefined,
      warning: 'UnknownSelectorInSes',
    },
  ])('$name', ({ view, wait, warning }) => {
    const p = plan(signing, {
      ses: { 'ap-northeast-1': view },
      sesDefault: sesOn('k1'),
      dns: { k1: 'match' },
    });
    expect(p.steps.filter((s) => 'region' in s && s.region === 'ap-northeast-1')).toEqual([]);
    if (wait)
      expect(p.waits).toContainEqual(
        expect.objectContaining({ reason: wait, outside: true, region: 'ap-northeast-1' }),
      );
    if (warning)
      expect(p.warnings).toContainEqual(expect.objectContaining({ code: warning, region: 'ap-northeast-1' }));
  });

  it('a missing identity is created with the key when createIdentity is on', () => {
    const p = plan(
      signing,
      {
        ses: { 'ap-northeast-1': sesOn(undefined, undefined, { exists: false }) },
        sesDefault: sesOn('k1'),
        dns: { k1: 'match' },
      },
      aSpec({ createIdentity: true }),
    );
    expect(stepsOf(p)).toEqual(['ses-create:k1@ap-northeast-1', 'ses-enable@ap-northeast-1']);
  });
});
