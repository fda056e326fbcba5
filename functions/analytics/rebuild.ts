import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CHARGE_ITEM_SK, VERSION_SK_PREFIX } from '#charges/model';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { type ChargeImage, contributions, decisionDelta, decisionOf, type ItemDelta } from './aggregates';

/**
 * The aggregates recomputed from the charges table, and compared with the kept ones. Live charge items give the
 * buckets; the version snapshots, in version order, give the QA decisions (each a status change between two
 * consecutive versions), so a rebuild finds the same decisions the stream consumer counted as they happened.
 *
 * It streams: a parallel Scan of the charges table adds every item's share into bucket totals as it goes, and the kept
 * aggregates are then compared page by page, so memory grows with the aggregate items, not with charges.
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
  /** Charges whose versions the scan did not return together, so they were read again with a Query. */
  queried: number;
  expectedItems: number;
  keptItems: number;
  differences: Difference[];
}

/** Parallel Scan segments, each a page loop of its own. */
export const SCAN_SEGMENTS = 4;

type Item = Record<string, unknown>;

/** Every item of a table, page by page; each segment's items reach `each` in the order the Scan returns them. */
export async function scanAll(
  db: DynamoDBDocumentClient,
  table: string,
  each: (item: Item, segment: number) => void | Promise<void>,
  projection?: readonly string[],
): Promise<void> {
  await Promise.all(
    Array.from({ length: SCAN_SEGMENTS }, async (_, segment) => {
      let start: Item | undefined;
      do {
        const page = await db.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: SCAN_SEGMENTS,
            ExclusiveStartKey: start,
            ...(projection ? projectionOf(projection) : {}),
          }),
        );
        for (const item of page.Items ?? []) await each(item, segment);
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
}

const projectionOf = (fields: readonly string[]) => ({
  ProjectionExpression: fields.map((_, i) => `#f${i}`).join(', '),
  ExpressionAttributeNames: Object.fromEntries(fields.map((f, i) => [`#f${i}`, f])),
});

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
const VERSION_FIELDS = ['chargeId', 'sk', 'status', 'updatedAt', 'productionDate', 'version'];

/** What a decision needs of one version snapshot. */
interface VersionState {
  version: number;
  status: unknown;
  updatedAt: unknown;
  productionDate: unknown;
}

const versionState = (item: Item): VersionState => ({
  version: Number(item.version),
  status: item.status,
  updatedAt: item.updatedAt,
  productionDate: item.productionDate,
});

/** The items of one charge the scan returned one after another (one charge's items share its partition). */
interface Run {
  chargeId: string;
  live?: Item;
  versions: VersionState[];
}

/** Bucket totals: each item's numbers added as they come; only as many entries as there are aggregate items. */
class Totals {
  readonly items = new Map<string, ItemDelta>();

  add(delta: ItemDelta): void {
    const key = `${delta.pk}\u0000${delta.sk}`;
    const into = this.items.get(key);
    if (!into) {
      this.items.set(key, { pk: delta.pk, sk: delta.sk, set: { ...delta.set }, add: { ...delta.add } });
      return;
    }
    Object.assign(into.set, delta.set);
    for (const [k, v] of Object.entries(delta.add)) into.add[k] = (into.add[k] ?? 0) + v;
  }

  /** Numbers that add up to 0 are left out, and items with none left (as mergeDeltas does). */
  settle(): Map<string, ItemDelta> {
    for (const [key, item] of this.items) {
      for (const [k, v] of Object.entries(item.add)) if (v === 0) delete item.add[k];
      if (Object.keys(item.add).length === 0) this.items.delete(key);
    }
    return this.items;
  }
}

/** Every version snapshot of one charge, in version order. */
async function queryVersions(db: DynamoDBDocumentClient, table: string, chargeId: string): Promise<VersionState[]> {
  const out: VersionState[] = [];
  let start: Item | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#id = :id AND begins_with(#sk, :v)',
        ExpressionAttributeValues: { ':id': chargeId, ':v': VERSION_SK_PREFIX },
        ...projectionOf(VERSION_FIELDS),
        ExpressionAttributeNames: {
          ...projectionOf(VERSION_FIELDS).ExpressionAttributeNames,
          '#id': 'chargeId',
          '#sk': 'sk',
        },
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(page.Items ?? []).map(versionState));
    start = page.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a.version - b.version);
}

/** What the charges table says the aggregates should be. */
export async function expectedAggregates(
  db: DynamoDBDocumentClient = documentDb(),
  charges: string = tableName('charges'),
): Promise<{ items: Map<string, ItemDelta>; charges: number; snapshots: number; queried: number }> {
  const totals = new Totals();
  let live = 0;
  let snapshots = 0;
  let queried = 0;

  const decide = (versions: readonly VersionState[]) => {
    let before: ChargeImage | undefined;
    for (const v of versions) {
      const image: ChargeImage = {
        sk: CHARGE_ITEM_SK,
        status: v.status,
        updatedAt: v.updatedAt,
        productionDate: v.productionDate,
      };
      const decision = decisionOf(before, image);
      if (decision) totals.add(decisionDelta(decision));
      before = image;
    }
  };

  /**
   * A charge's decisions, counted once: by the run holding its live item, or, for snapshots whose live item is gone,
   * by the run holding its first snapshot. A run holding the live item and versions 1…live version is the whole
   * charge (a snapshot is written in the same transaction as the live item of its version, never later ones); any
   * other run asks DynamoDB for the charge's versions. A Scan returns a partition's items together in sort-key order
   * on DynamoDB and DynamoDB Local alike, but the API does not promise it, so this never depends on it for results.
   */
  const finish = async (run: Run) => {
    if (!run.live && run.versions.length === 0) return;
    const versions = run.versions.sort((a, b) => a.version - b.version);
    const liveVersion = Number(run.live?.version);
    const whole =
      run.live !== undefined && versions.length === liveVersion && versions.every((v, i) => v.version === i + 1);
    if (whole) return decide(versions);
    if (!run.live) {
      const owner = await db.send(
        new GetCommand({
          TableName: charges,
          Key: { chargeId: run.chargeId, sk: CHARGE_ITEM_SK },
          ProjectionExpression: 'chargeId',
        }),
      );
      if (owner.Item) return;
    }
    queried++;
    const all = await queryVersions(db, charges, run.chargeId);
    if (!run.live && all[0]?.version !== versions[0]?.version) return;
    decide(all);
  };

  const runs: (Run | undefined)[] = Array.from({ length: SCAN_SEGMENTS }, () => undefined);
  await scanAll(
    db,
    charges,
    async (item, segment) => {
      const chargeId = String(item.chargeId);
      let run = runs[segment];
      if (run?.chargeId !== chargeId) {
        if (run) await finish(run);
        run = runs[segment] = { chargeId, versions: [] };
      }
      if (item.sk === CHARGE_ITEM_SK) {
        live++;
        run.live = item;
        for (const delta of contributions(item as ChargeImage)) totals.add(delta);
      } else if (typeof item.sk === 'string' && item.sk.startsWith(VERSION_SK_PREFIX)) {
        snapshots++;
        run.versions.push(versionState(item));
      }
    },
    CHARGE_FIELDS,
  );
  for (const run of runs) if (run) await finish(run);
  return { items: totals.settle(), charges: live, snapshots, queried };
}

/** The differences of one aggregate item (a missing number or item counts as 0). */
function differencesOf(pk: string, sk: string, expected: ItemDelta | undefined, kept: Item | undefined): Difference[] {
  const out: Difference[] = [];
  const fields = new Set([...Object.keys(expected?.add ?? {}), ...Object.keys(kept ?? {}).filter(isCounter)]);
  for (const field of fields) {
    const want = expected?.add[field] ?? 0;
    const have = typeof kept?.[field] === 'number' ? kept[field] : 0;
    if (want !== have) out.push({ pk, sk, field, expected: want, kept: have });
  }
  return out;
}

/** Recomputes and compares; with `write`, the kept aggregates are then set to the recomputed values. */
export async function rebuild(
  options: { write?: boolean; db?: DynamoDBDocumentClient; charges?: string; analytics?: string } = {},
): Promise<RebuildReport> {
  const db = options.db ?? documentDb();
  const analytics = options.analytics ?? tableName('analytics');
  const expected = await expectedAggregates(db, options.charges ?? tableName('charges'));
  const expectedItems = expected.items.size;
  const differences: Difference[] = [];
  // Only the items that differ are held for `--write`: never more than the aggregates themselves.
  const fixes: { pk: string; sk: string; expected?: ItemDelta; kept?: Item }[] = [];
  let keptItems = 0;
  await scanAll(db, analytics, (kept) => {
    if (!isAggregate(kept.pk)) return;
    const [pk, sk] = [String(kept.pk), String(kept.sk)];
    const key = `${pk}\u0000${sk}`;
    const e = expected.items.get(key);
    expected.items.delete(key);
    if (Object.keys(kept).some((f) => isCounter(f) && kept[f] !== 0)) keptItems++;
    const found = differencesOf(pk, sk, e, kept);
    if (found.length === 0) return;
    differences.push(...found);
    if (options.write) fixes.push({ pk, sk, expected: e, kept });
  });
  // What is left was never kept.
  for (const e of expected.items.values()) {
    differences.push(...differencesOf(e.pk, e.sk, e, undefined));
    if (options.write) fixes.push({ pk: e.pk, sk: e.sk, expected: e });
  }
  for (const { pk, sk, expected: e, kept: k } of fixes) {
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
  return {
    charges: expected.charges,
    snapshots: expected.snapshots,
    queried: expected.queried,
    expectedItems,
    keptItems,
    differences: differences.sort((a, b) => (a.pk + a.sk + a.field < b.pk + b.sk + b.field ? -1 : 1)),
  };
}
