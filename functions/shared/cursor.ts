import { badRequest } from './errors';

/**
 * Opaque pagination cursors: base64url JSON of where the next page starts. A cursor is only accepted when
 * `isValid` recognises it — the same kind of query, keys of the expected shape — so a tampered or foreign
 * cursor is a 400, never a query the caller could not otherwise make.
 */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(raw: string, isValid: (value: unknown) => value is T): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('The cursor is not valid for this query');
  }
  if (!isValid(parsed)) throw badRequest('The cursor is not valid for this query');
  return parsed;
}

/** A DynamoDB key of string attributes, each among `names` (the index's key attributes). */
export function isStringKey(value: unknown, names: ReadonlySet<string>): value is Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([k, v]) => names.has(k) && typeof v === 'string' && v.length <= 300);
}
