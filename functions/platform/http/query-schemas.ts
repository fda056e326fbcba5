import * as z from '#platform/zod';

/**
 * Query parameters every list and range route shares, so that one page size or one swapped range reads the
 * same everywhere.
 */

/**
 * A page size: 1–100, default 25, as plain decimal digits only — `1e2`, `0x10`, `+3` and ` 5` are refused like any
 * other bad value (422), as strictly as the rest of the query (`z.coerce.number()` would accept them).
 */
export const Limit = z
  ._default(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+$/, 'Decimal digits only')), z.transform(Number)),
      z.number().check(z.int(), z.minimum(1), z.maximum(100)),
    ),
    25,
  )
  .check(z.meta({ description: 'Page size: 1–100, default 25' }));

/**
 * Opaque: its length and content are checked where it is decoded (`decodeCursor`), so a cursor that is too long
 * is 400 BAD_REQUEST like every other bad cursor, not a 422 from this schema.
 */
export const Cursor = z.optional(z.string()).check(z.meta({ description: 'The `nextCursor` of the page before' }));

/** The `limit` and `cursor` of a paginated list. */
export const PAGE_FIELDS = { limit: Limit, cursor: Cursor };

export const PageQuery = z.strictObject(PAGE_FIELDS);

/** `from` after `to` is a mistake, not an empty range: the same 422 on every route that takes both. */
export const RANGE_IN_ORDER = { message: 'from must not be after to', path: ['from'] };
