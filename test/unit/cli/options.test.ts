import { describe, expect, it } from 'vitest';
import { integerOption } from '../../../src/cli/context.js';
import { InputError } from '../../../src/errors.js';

describe('whole-number flags', () => {
  it.each(['abc', '0', '-3', '1.5', '1e3', '', '1025'])('refuses --concurrency %j, naming it', (value) => {
    expect(() => integerOption(value, '--concurrency', 1, 1024)).toThrow(InputError);
    expect(() => integerOption(value, '--concurrency', 1, 1024)).toThrow(`--concurrency: "${value}" must be`);
  });

  it.each([
    ['1', 1],
    [' 16 ', 16],
    ['1024', 1024],
    [16, 16],
  ])('takes %j', (value, expected) => {
    expect(integerOption(value, '--concurrency', 1, 1024)).toBe(expected);
  });
});
