import { canonicalJson, type JsonValue, toJsonValue } from './canonical-json';

/**
 * Field-level changes between two versions of an entity: `{field: {from, to}}` for every top-level field
 * whose value differs (compared as canonical JSON, so key order inside maps does not count as a change).
 * A missing side is `null`, so a create lists every initial value with `from: null`.
 */
export function diffFields(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
  ignore: ReadonlySet<string> = new Set(),
): Record<string, { from: JsonValue; to: JsonValue }> {
  const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const changes: Record<string, { from: JsonValue; to: JsonValue }> = {};
  for (const field of [...fields].sort()) {
    if (ignore.has(field)) continue;
    const from = toJsonValue(before?.[field]) ?? null;
    const to = toJsonValue(after?.[field]) ?? null;
    if (canonicalJson(from) !== canonicalJson(to)) changes[field] = { from, to };
  }
  return changes;
}
