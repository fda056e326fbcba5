/**
 * Canonical JSON, the byte string an audit record's hash is computed over. It is RFC 8785 (JCS) for the
 * values audit records hold:
 * - object keys sorted by UTF-16 code units (JavaScript's default sort), keys whose value is `undefined` omitted;
 * - no whitespace; strings and numbers serialised as `JSON.stringify` does (ECMAScript Number::toString);
 * - arrays keep their order; `null`, `true`, `false` literal.
 * Anything JSON cannot represent exactly (NaN, Infinity, bigint, functions, Sets, Dates) is rejected, so a
 * record never hashes to something that would read back differently from DynamoDB.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new TypeError(`Canonical JSON: unsupported object ${Object.prototype.toString.call(value)}`);
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`Canonical JSON: unsupported ${typeof value}`);
  }
}

/**
 * Brings an attribute value from a DynamoDB image into plain JSON before it is recorded: sets become
 * sorted arrays, binary becomes base64, `undefined` disappears. What is hashed is then exactly what
 * DynamoDB stores and returns.
 */
export function toJsonValue(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Set) {
    const items = [...value].map((v) => toJsonValue(v)).filter((v): v is JsonValue => v !== undefined);
    return items.sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v) ?? null);
  if (typeof value === 'object') {
    // NumberValue from `unmarshall(…, { wrapNumbers: true })` and similar wrappers keep their exact text.
    if (
      'value' in value &&
      typeof (value as { value: unknown }).value === 'string' &&
      Object.keys(value).length === 1
    ) {
      return (value as { value: string }).value;
    }
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) {
      const json = toJsonValue(v);
      if (json !== undefined) out[k] = json;
    }
    return out;
  }
  return String(value);
}
