import { describe, expect, it } from 'vitest';
import {
  assertTemplateRenders,
  assertValidSelector,
  isValidSelector,
  nextSelector,
  renderSelector,
} from '../../../src/domain/selector.js';
import { InputError } from '../../../src/errors.js';

const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

describe('selector names', () => {
  it("reproduces the seed system's selectors with the default template", () => {
    expect(renderSelector('{prefix}-{yyyymmdd}-{n}', 'gooid-21-pro', day('2025-09-17'), 3)).toBe(
      'gooid-21-pro-20250917-3',
    );
  });

  it('counts n up within a day and starts again at 1 on the next day', () => {
    const existing: string[] = [];
    for (let i = 0; i < 3; i++)
      existing.push(nextSelector({ prefix: 'gooid-21-pro', day: day('2025-09-17'), existing }));
    expect(existing).toEqual([
      'gooid-21-pro-20250917-1',
      'gooid-21-pro-20250917-2',
      'gooid-21-pro-20250917-3',
    ]);
    expect(nextSelector({ prefix: 'gooid-21-pro', day: day('2025-09-18'), existing })).toBe(
      'gooid-21-pro-20250918-1',
    );
  });

  it('continues after the highest n used that day, even with gaps, and ignores other prefixes', () => {
    const existing = ['mail-20250917-1', 'mail-20250917-7', 'other-20250917-9', 'mail-20250916-12'];
    expect(nextSelector({ prefix: 'mail', day: day('2025-09-17'), existing })).toBe('mail-20250917-8');
  });

  it('uses the UTC day', () => {
    expect(nextSelector({ prefix: 's', day: new Date('2025-12-31T23:30:00-05:00'), existing: [] })).toBe(
      's-20260101-1',
    );
  });

  it('supports custom templates and rejects ones that cannot count', () => {
    expect(
      nextSelector({
        template: 'k{n}-{yyyy}{mm}',
        prefix: 'x',
        day: day('2026-02-03'),
        existing: ['k1-202602'],
      }),
    ).toBe('k2-202602');
    expect(() =>
      nextSelector({ template: '{prefix}-{yyyymmdd}', prefix: 'x', day: day('2026-02-03'), existing: [] }),
    ).toThrow(/must contain \{n\}/);
    expect(() =>
      nextSelector({
        template: '{prefix}-{hostname}-{n}',
        prefix: 'x',
        day: day('2026-02-03'),
        existing: [],
      }),
    ).toThrow(/unknown token \{hostname\}/);
  });

  it.each([
    'gooid-21-pro-20250911-1',
    'gooid-21-pro-20250912-1',
    'gooid-21-pro-20250917-3',
    'a',
    '1',
    'a'.repeat(63),
    'Sel-1',
  ])('accepts %s as SES does', (selector) => {
    expect(isValidSelector(selector)).toBe(true);
    expect(() => assertValidSelector(selector)).not.toThrow();
  });

  it.each([
    ['dots', 'sel.one'],
    ['underscores', 'sel_one'],
    ['64 characters', 'a'.repeat(64)],
    ['a leading hyphen', '-sel'],
    ['a trailing hyphen', 'sel-'],
    ['emptiness', ''],
    ['spaces', 'sel one'],
  ])('rejects %s, naming the selector and the rule', (_, selector) => {
    expect(isValidSelector(selector)).toBe(false);
    try {
      assertValidSelector(selector, 'domains[0].selector');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      const message = (error as InputError).message;
      expect(message).toContain(`"${selector}"`);
      expect(message).toContain('domains[0].selector');
      expect(message).toContain('1–63 characters');
      expect((error as InputError).exitCode).toBe(2);
    }
  });

  it('refuses a template that renders an invalid selector', () => {
    expect(() => nextSelector({ prefix: 'bad_prefix', day: day('2026-01-01'), existing: [] })).toThrow(
      /not a valid SES selector/,
    );
  });
});

describe('selector templates checked by rendering samples', () => {
  it.each([
    ['{prefix}-{yyyymmdd}-{n}', 'mail', true],
    ['{prefix}{yyyy}{mm}-{n}', 'mail', true],
    ['{prefix}.{n}', 'mail', false],
    ['{prefix}/{n}', 'mail', false],
    ['{prefix}-ключ-{n}', 'mail', false],
    ['{prefix}-{n}-', 'mail', false],
    [`{prefix}-${'x'.repeat(50)}-{n}`, 'mail', true],
    [`{prefix}-${'x'.repeat(50)}-{n}`, 'longer-prefix', false],
  ])('%s with prefix %s: %s', (template, prefix, valid) => {
    const check = () => assertTemplateRenders(template, prefix, 'policy.selectorTemplate');
    if (valid) expect(check).not.toThrow();
    else expect(check).toThrow(InputError);
  });

  it('names the template, a sample and the rule', () => {
    expect(() => assertTemplateRenders('{prefix}.{n}', 'mail', 'policy.selectorTemplate')).toThrow(
      'policy.selectorTemplate: "{prefix}.{n}" makes selectors like "mail.1", which SES refuses',
    );
  });
});
