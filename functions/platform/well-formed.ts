import * as z from '#platform/zod';

/**
 * Text that is well-formed Unicode: no lone UTF-16 surrogate. JSON's `\ud800` escape gives JavaScript such a
 * string, but it is no sequence of characters: no URL can name it (so an audit entity keyed by it could be
 * neither listed nor verified), UTF-8 encoders replace it, and DynamoDB may refuse it. Usernames, and any other
 * free text that reaches the audit trail, must be well-formed.
 */
export function isWellFormed(text: string): boolean {
  // ES2024's String.prototype.isWellFormed (Node ≥ 20); the compiler's lib is ES2023, hence the cast.
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no lone surrogates)';

/** A zod string that refuses ill-formed text with 422 like any other invalid field; add `.check(z.minLength(…))`… */
export const wellFormedString = () => z.string().check(z.refine(isWellFormed, WELL_FORMED_MESSAGE));

/**
 * Unicode format characters (category Cf): zero-width characters, bidi controls, the BOM, the soft hyphen. Invisible,
 * they make two identifiers look the same (`ART-1` and `ART-\u200B1`) or reorder what a reader sees; identifiers
 * refuse them.
 */
export const FORMAT_CHARACTER = /\p{Cf}/u;

export const NO_FORMAT_CHARACTER_MESSAGE = 'must not contain invisible format characters (zero-width, bidi controls)';

export const hasNoFormatCharacter = (text: string) => !FORMAT_CHARACTER.test(text);
