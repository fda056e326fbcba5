import { describe, expect, it } from 'vitest';
import { parseIfMatch } from '#charges/service';
import { AppError } from '#platform/errors';

/**
 * parseIfMatch (functions/charges/service.ts): the version an `If-Match` header names, as the charge routes read
 * it before they compare it with the stored version (docs/http-api.md, Preconditions). Missing → 428; a value
 * that names no version → 412, the answer a stale version gets too; never anything else.
 */

/** The version it reads, or the error code it throws. */
function read(value: string | undefined): number | string {
  try {
    return parseIfMatch(value);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    const error = err as AppError;
    expect(error.status).toBe({ PRECONDITION_REQUIRED: 428, PRECONDITION_FAILED: 412 }[error.code as string]);
    return error.code;
  }
}

describe('If-Match forms that name a version', () => {
  it.each([
    ['the entity tag the API sends', '"3"', 3],
    ['a weak tag', 'W/"3"', 3],
    ['a bare number', '3', 3],
    ['surrounding spaces and tabs', ' \t"3" ', 3],
    ['leading zeros', '"003"', 3],
    ['version 0 (no charge has it: the comparison answers 412)', '"0"', 0],
    ['the largest: ten digits', '"9999999999"', 9_999_999_999],
    // Lenient forms: the check is the version, and a mistyped quote still names it.
    ['an opening quote only', '"3', 3],
    ['a closing quote only', '3"', 3],
    ['a weak bare number', 'W/3', 3],
  ])('%s: %j → %s', (_name, value, version) => {
    expect(read(value)).toBe(version);
  });
});

describe('If-Match missing → 428 PRECONDITION_REQUIRED', () => {
  it.each([
    ['no header', undefined],
    ['an empty value', ''],
    ['only spaces', '   '],
    ['only a tab', '\t'],
  ])('%s', (_name, value) => {
    expect(read(value)).toBe('PRECONDITION_REQUIRED');
  });
});

describe('If-Match that names no version → 412 PRECONDITION_FAILED', () => {
  it.each([
    // `*` would skip the optimistic-concurrency check every change must pass (docs/http-api.md).
    ['any version', '*'],
    ['a list', '"3", "4"'],
    ['a list naming one version twice', '"3", "3"'],
    ['a list without spaces', '"3","4"'],
    ['a weak and a strong tag', 'W/"3", "3"'],
    ['spaces inside the quotes', '" 3 "'],
    ['a space after W/', 'W/ "3"'],
    ['a lower-case w/', 'w/"3"'],
    ['empty quotes', '""'],
    ['a negative number', '"-3"'],
    ['a bare negative number', '-3'],
    ['a plus sign', '"+3"'],
    ['a decimal', '"3.0"'],
    ['an exponent', '"3e0"'],
    ['hexadecimal', '"0x3"'],
    ['eleven digits', '"10000000000"'],
    ['a huge number', `"${'9'.repeat(400)}"`],
    ['digits of another script', '"٣"'],
    ['full-width digits', '"３"'],
    ['text', '"abc"'],
    ['a weak text tag', 'W/"abc"'],
    ['trailing garbage', '"3"x'],
    ['a second tag glued on', '"3""4"'],
    ['a quoted number with a suffix', '"3-gzip"'],
  ])('%s: %j', (_name, value) => {
    expect(read(value)).toBe('PRECONDITION_FAILED');
  });
});
