import { createHash } from 'node:crypto';
import { badRequest } from './errors';

/**
 * Opaque pagination cursors, bound to the query they page through. A cursor is base64url JSON of
 * `{ q, p }`: `q` is a digest of the query (which list, and every filter value), `p` where the next page
 * starts (for DynamoDB, the page's LastEvaluatedKey). Decoding recomputes `q` for the request at hand, so a
 * cursor from another query — other filters, another list — is refused; the caller then checks the position
 * against its key condition (`isPosition`), so a forged key that DynamoDB would reject never reaches it.
 * Either way the answer is 400, never a query the caller could not otherwise make, and never a 500.
 */
export interface CursorQuery {
  /** What is listed, e.g. `charges`, `audit`, `users`. */
  list: string;
  /** Every value that shapes the result (not the page size); undefined values are left out. */
  filters?: Readonly<Record<string, string | number | boolean | undefined>>;
}

const invalidCursor = () => badRequest('The cursor is not valid for this query');

/** Far above any cursor this server writes (its keys hold ids, dates and short filter values): longer is forged. */
export const MAX_CURSOR_LENGTH = 2048;

/** 96 bits of SHA-256 over the list and its defined filters in key order: stable across pages and processes. */
function digest(query: CursorQuery): string {
  const filters = Object.entries(query.filters ?? {})
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([query.list, filters]), 'utf8')
    .digest('base64url')
    .slice(0, 16);
}

export function encodeCursor(query: CursorQuery, position: unknown): string {
  return Buffer.from(JSON.stringify({ q: digest(query), p: position }), 'utf8').toString('base64url');
}

export function decodeCursor<P>(raw: string, query: CursorQuery, isPosition: (value: unknown) => value is P): P {
  if (raw.length > MAX_CURSOR_LENGTH) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidCursor();
  const { q, p } = parsed as { q?: unknown; p?: unknown };
  if (q !== digest(query) || !isPosition(p)) throw invalidCursor();
  return p;
}

/** A DynamoDB key value as this API's tables have them: a string (S) or a non-negative integer (N). */
export type KeyValue = string | number;

const MAX_KEY_STRING = 1024;

/**
 * A DynamoDB key with exactly these attribute names, each a string — or, for the names in `numeric`, a
 * non-negative integer. Exactly: DynamoDB refuses a start key missing an attribute of the index or the table key.
 */
export function isKey(
  value: unknown,
  names: readonly string[],
  numeric: readonly string[] = [],
): value is Record<string, KeyValue> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  if (entries.length !== names.length) return false;
  return entries.every(
    ([name, v]) =>
      names.includes(name) &&
      (numeric.includes(name)
        ? typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
        : typeof v === 'string' && v.length > 0 && v.length <= MAX_KEY_STRING),
  );
}

/** A sort key inside the key condition's range (either bound may be open). */
export function inRange(value: KeyValue | undefined, from: string | undefined, to: string | undefined): boolean {
  return typeof value === 'string' && (from === undefined || value >= from) && (to === undefined || value <= to);
}

/**
 * Runs the query that starts at a cursor's key. Should DynamoDB still refuse that key (`ValidationException`:
 * "The provided starting key is invalid / does not match the range key predicate"), the cursor is at fault:
 * 400, not 500. Queries without a client-supplied start key are not wrapped.
 */
export async function queryFromCursor<T>(hasCursor: boolean, query: () => Promise<T>): Promise<T> {
  if (!hasCursor) return query();
  try {
    return await query();
  } catch (err) {
    if (err instanceof Error && err.name === 'ValidationException') throw invalidCursor();
    throw err;
  }
}
