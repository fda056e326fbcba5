import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChargeImage,
  contributions,
  decisionDelta,
  decisionOf,
  type ItemDelta,
  mergeDeltas,
} from '#analytics/aggregates';
import { rebuild } from '#analytics/rebuild';

/**
 * The rebuild streams the charges table and takes a charge's versions from the scan when they come together; these
 * tests hand it scans in any order, split over segments and pages, and check it counts exactly what the table holds.
 */

type Item = Record<string, unknown>;

const vsk = (v: number) => `V#${String(v).padStart(10, '0')}`;

/** A charge's versions (each a snapshot) and its live item (the last version, unless `live` is false). */
function charge(chargeId: string, states: Item[], options: { live?: boolean; skip?: number[] } = {}): Item[] {
  const base = { chargeId, articleId: 'A', unit: 'kg', quantity: 2.5, productionDate: '2026-05-01' };
  const versions = states.map((s, i) => ({
    ...base,
    updatedAt: `2026-05-0${2 + i}T08:00:00.000Z`,
    ...s,
    version: i + 1,
  }));
  const snapshots = versions
    .filter((v) => !options.skip?.includes(v.version))
    .map((v) => ({ ...v, sk: vsk(v.version) }));
  return options.live === false ? snapshots : [{ ...versions.at(-1), sk: 'CHARGE' }, ...snapshots];
}

const CHARGES: Item[] = [
  ...charge('c1', [{ status: 'quarantine' }, { status: 'released' }, { status: 'blocked' }, { status: 'released' }]),
  ...charge('c2', [{ status: 'quarantine' }, { status: 'rejected' }, { status: 'rejected', deletedAt: 'x' }]),
  ...charge('c3', [{ status: 'in_production' }, { status: 'quarantine' }, { status: 'released', unit: 'pcs' }]),
  // Snapshots without their live item still hold decisions.
  ...charge('c4', [{ status: 'quarantine' }, { status: 'released' }], { live: false }),
  // A missing snapshot: the decision is the status change between the snapshots there are.
  ...charge('c5', [{ status: 'quarantine' }, { status: 'released' }, { status: 'blocked' }], { skip: [2] }),
  ...Array.from({ length: 30 }, (_, i) =>
    charge(`d${i}`, [{ status: 'quarantine', quantity: i }, ...(i % 3 ? [{ status: 'released' }] : [])]),
  ).flat(),
  { chargeId: 'LOT#X', sk: 'LOT' },
];

/** What the table holds, computed the plain way: live items' buckets, every charge's snapshots in version order. */
function reference(items: Item[]): Map<string, ItemDelta> {
  const parts: ItemDelta[] = items.filter((i) => i.sk === 'CHARGE').flatMap((i) => contributions(i as ChargeImage));
  const ids = new Set(items.map((i) => String(i.chargeId)));
  for (const id of ids) {
    const versions = items
      .filter((i) => i.chargeId === id && String(i.sk).startsWith('V#'))
      .sort((a, b) => Number(a.version) - Number(b.version));
    versions.forEach((v, k) => {
      const d = decisionOf(versions[k - 1] && { ...versions[k - 1], sk: 'CHARGE' }, { ...v, sk: 'CHARGE' });
      if (d) parts.push(decisionDelta(d));
    });
  }
  return new Map(mergeDeltas(parts).map((d) => [`${d.pk} ${d.sk}`, d]));
}

/** A seeded shuffle (mulberry32), so a failing order can be run again. */
function shuffled<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const bySk = (a: Item, b: Item) =>
  String(a.chargeId) < String(b.chargeId) ? -1 : a.chargeId !== b.chargeId ? 1 : String(a.sk) < String(b.sk) ? -1 : 1;

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

/** A charges table whose Scan hands out `segments` (one list per segment) in pages of `pageSize`. */
function tables(segments: Item[][], kept: Item[], pageSize: number) {
  const all = segments.flat();
  ddb.on(ScanCommand).callsFake((input: { TableName: string; Segment: number; ExclusiveStartKey?: { at: number } }) => {
    const list = input.TableName === 'charges' ? (segments[input.Segment] ?? []) : input.Segment === 0 ? kept : [];
    const at = input.ExclusiveStartKey?.at ?? 0;
    const next = at + pageSize;
    return { Items: list.slice(at, next), ...(next < list.length ? { LastEvaluatedKey: { at: next } } : {}) };
  });
  ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => ({
    Items: all
      .filter((i) => i.chargeId === input.ExpressionAttributeValues[':id'] && String(i.sk).startsWith('V#'))
      .sort(bySk),
  }));
  ddb.on(GetCommand).callsFake((input: { Key: Item }) => ({
    Item: all.find((i) => i.chargeId === input.Key.chargeId && i.sk === input.Key.sk),
  }));
}

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-central-1' }));
const keptOf = (m: Map<string, ItemDelta>): Item[] =>
  [...m.values()].map((d) => ({ ...d.set, ...d.add, pk: d.pk, sk: d.sk }));
const options = { db, charges: 'charges', analytics: 'analytics' };

describe('analytics rebuild', () => {
  const expected = reference(CHARGES);

  it('a scan in key order: versions come from the scan, only charges with a gap or no live item are queried', async () => {
    const sorted = [...CHARGES].sort(bySk);
    // Four segments cut anywhere, pages of 4 items: a charge's items straddle pages.
    tables([sorted.slice(0, 7), sorted.slice(7, 40), sorted.slice(40, 41), sorted.slice(41)], keptOf(expected), 4);
    const report = await rebuild(options);
    expect(report.differences).toEqual([]);
    expect(report.expectedItems).toBe(expected.size);
    expect(report.charges).toBe(CHARGES.filter((i) => i.sk === 'CHARGE').length);
    // c4 (no live item) and c5 (a gap), and the two charges the segment bounds cut (read by their live item's run).
    expect(report.queried).toBe(2 + 2);
  });

  it('a scan in any order, a charge split over segments: the same totals, each decision counted once', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const items = shuffled(CHARGES, seed);
      const segments: Item[][] = [[], [], [], []];
      items.forEach((item, i) => segments[(i * 7 + seed) % 4]?.push(item));
      tables(segments, keptOf(expected), 3);
      const report = await rebuild(options);
      expect(report.differences, `seed ${seed}`).toEqual([]);
      expect(report.queried).toBeGreaterThan(0);
      ddb.reset();
    }
  });

  it('reports every number that differs from the kept items, and items kept or recomputed alone', async () => {
    const kept = keptOf(expected);
    const [first, second] = kept as [Item, Item];
    first.n = Number(first.n) + 1;
    kept.splice(1, 1);
    kept.push({ pk: 'QA#1999-01', sk: '1999-01-01', date: '1999-01-01', released: 3 }, { pk: 'DASH', sk: 'x' });
    tables([[...CHARGES].sort(bySk)], kept, 5);
    const report = await rebuild(options);
    expect(report.differences).toEqual(
      [
        { pk: first.pk, sk: first.sk, field: 'n', expected: Number(first.n) - 1, kept: first.n },
        ...Object.keys(second)
          .filter((f) => ['n', 'q', 'released', 'rejected', 'blocked'].includes(f) || /^lt\d+$/.test(f))
          .filter((f) => second[f] !== 0)
          .map((f) => ({ pk: second.pk, sk: second.sk, field: f, expected: second[f], kept: 0 })),
        { pk: 'QA#1999-01', sk: '1999-01-01', field: 'released', expected: 0, kept: 3 },
      ].sort((a, b) => (`${a.pk}${a.sk}${a.field}` < `${b.pk}${b.sk}${b.field}` ? -1 : 1)),
    );
  });
});
