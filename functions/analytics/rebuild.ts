import { type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CHARGE_ITEM_SK, VERSION_SK_PREFIX } from '#charges/model';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { type ChargeImage, contributions, decisionDelta, decisionOf, type ItemDelta, mergeDeltas } from './aggregates';

/**
 * The aggregates recomputed from the charges table, and compared with the kept ones. Live charge items give the
 * buckets; the version snapshots, in version order, give the QA decisions (each a status change between two
 * consecutive versions), so a rebuild finds the same decisions the stream consumer counted as they happened.
 */

/** The numbers an aggregate item keeps (its coordinates are in its key). */
const isCounter = (name: string) => name === 'n' || name === 'q' || /^(released|rejected|blocked|lt\d+)$/.test(name);
const AGGREGATE_PREFIXES = ['CD#', 'CA#', 'AR#', 'QA#'];
export const isAggregate = (pk: unknown) => typeof pk === 'string' && AGGREGATE_PREFIXES.some((p) => pk.startsWith(p));

export interface Difference {
  pk: string;
  sk: string;
  field: string;
  expected: number;
  kept: number;
}

export interface RebuildReport {
  charges: number;
  snapshots: number;
  expectedItems: number;
  keptItems: number;
  differences: Difference[];
}

const SCAN_SEGMENTS = 4;

async function scanAll(
  db: DynamoDBDocumentClient,
  table: string,
  each: (item: Record<string, unknown>) => void,
  projection?: { expression: string; names: Record<string, string> },
): Promise<void> {
  await Promise.all(
    Array.from({ length: SCAN_SEGMENTS }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: SCAN_SEGMENTS,
            ExclusiveStartKey: start,
            ...(projection
              ? { ProjectionExpression: projection.expression, ExpressionAttributeNames: projection.names }
              : {}),
          }),
        );
        for (const item of page.Items ?? []) each(item);
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
}

const CHARGE_FIELDS = [
  'chargeId',
  'sk',
  'articleId',
  'unit',
  'status',
  'quantity',
  'productionDate',
  'deletedAt',
  'updatedAt',
  'version',
];

/** What the charges table says the aggregates should be. */
export async function expectedAggregates(
  db: DynamoDBDocumentClient = documentDb(),
  charges: string = tableName('charges'),
): Promise<{ items: Map<string, ItemDelta>; charges: number; snapshots: number }> {
  const parts: ItemDelta[] = [];
  // Per charge, its versions' status, time and production date only: enough for the decisions, small in memory.
  const versions = new Map<string, string[]>();
  let live = 0;
  let snapshots = 0;
  await scanAll(
    db,
    charges,
    (item) => {
      if (item.sk === CHARGE_ITEM_SK) {
        live++;
        parts.push(...contributions(item as ChargeImage));
      } else if (typeof item.sk === 'string' && item.sk.startsWith(VERSION_SK_PREFIX)) {
        snapshots++;
        const id = String(item.chargeId);
        const list = versions.get(id) ?? [];
        list.push([item.version, item.status, item.updatedAt, item.productionDate].join('\u0000'));
        versions.set(id, list);
      }
      // Compact as we go: the merged map stays as small as the aggregates themselves.
      if (parts.length > 50_000) parts.splice(0, parts.length, ...mergeDeltas(parts));
    },
    {
      expression: CHARGE_FIELDS.map((_, i) => `#f${i}`).join(', '),
      names: Object.fromEntries(CHARGE_FIELDS.map((f, i) => [`#f${i}`, f])),
    },
  );
  for (const list of versions.values()) {
    const states = list
      .map((s) => s.split('\u0000'))
      .map(([version, status, updatedAt, productionDate]) => ({
        version: Number(version),
        image: { sk: CHARGE_ITEM_SK, status, updatedAt, productionDate } as ChargeImage,
      }))
      .sort((a, b) => a.version - b.version);
    let before: ChargeImage | undefined;
    for (const { image } of states) {
      const decision = decisionOf(before, image);
      if (decision) parts.push(decisionDelta(decision));
      before = image;
    }
  }
  const items = new Map(mergeDeltas(parts).map((d) => [`${d.pk}\u0000${d.sk}`, d]));
  return { items, charges: live, snapshots };
}

/** The kept aggregates, by key. */
export async function keptAggregates(
  db: DynamoDBDocumentClient = documentDb(),
  analytics: string = tableName('analytics'),
): Promise<Map<string, Record<string, unknown>>> {
  const kept = new Map<string, Record<string, unknown>>();
  await scanAll(db, analytics, (item) => {
    if (isAggregate(item.pk)) kept.set(`${String(item.pk)}\u0000${String(item.sk)}`, item);
  });
  return kept;
}

/** Every number that differs between expected and kept aggregates (a missing number or item counts as 0). */
export function compare(expected: Map<string, ItemDelta>, kept: Map<string, Record<string, unknown>>): Difference[] {
  const out: Difference[] = [];
  for (const key of new Set([...expected.keys(), ...kept.keys()])) {
    const e = expected.get(key);
    const k = kept.get(key);
    const [pk, sk] = key.split('\u0000') as [string, string];
    const fields = new Set([...Object.keys(e?.add ?? {}), ...Object.keys(k ?? {}).filter(isCounter)]);
    for (const field of fields) {
      const want = e?.add[field] ?? 0;
      const have = typeof k?.[field] === 'number' ? (k[field] as number) : 0;
      if (want !== have) out.push({ pk, sk, field, expected: want, kept: have });
    }
  }
  return out.sort((a, b) => (a.pk + a.sk + a.field < b.pk + b.sk + b.field ? -1 : 1));
}

/** Recomputes and compares; with `write`, the kept aggregates are then set to the recomputed values. */
export async function rebuild(
  options: { write?: boolean; db?: DynamoDBDocumentClient; charges?: string; analytics?: string } = {},
): Promise<RebuildReport> {
  const db = options.db ?? documentDb();
  const analytics = options.analytics ?? tableName('analytics');
  const expected = await expectedAggregates(db, options.charges ?? tableName('charges'));
  const kept = await keptAggregates(db, analytics);
  const differences = compare(expected.items, kept);
  if (options.write && differences.length > 0) {
    const keys = new Set(differences.map((d) => `${d.pk}\u0000${d.sk}`));
    for (const key of keys) {
      const e = expected.items.get(key);
      const k = kept.get(key);
      const [pk, sk] = key.split('\u0000') as [string, string];
      // Coordinates as kept (or expected), counters as recomputed; a bucket nothing counts in any more is zeroed.
      const coordinates = Object.fromEntries(Object.entries(k ?? {}).filter(([f]) => !isCounter(f)));
      const zeroed = Object.fromEntries(
        Object.keys(k ?? {})
          .filter(isCounter)
          .map((f) => [f, 0]),
      );
      await db.send(
        new PutCommand({ TableName: analytics, Item: { ...coordinates, ...e?.set, ...zeroed, ...e?.add, pk, sk } }),
      );
    }
  }
  return {
    charges: expected.charges,
    snapshots: expected.snapshots,
    expectedItems: expected.items.size,
    keptItems: [...kept.values()].filter((item) => Object.keys(item).some((f) => isCounter(f) && item[f] !== 0)).length,
    differences,
  };
}
