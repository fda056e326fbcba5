import { CHARGE_ITEM_SK, type ChargeStatus } from '#charges/model';

/**
 * What a charge item contributes to the kept aggregates, and how a change moves it: the one definition the stream
 * consumer (functions/analytics/stream.ts) and the rebuild (functions/analytics/rebuild.ts) both use.
 *
 * Items of the `analytics` table (`pk`, `sk`):
 * - `CD#<yyyy-mm>` / `<date>#<status>#<unit>` — live charges per production day × status × unit (all articles);
 * - `CA#<yyyy-mm>` / `<date>#<articleId>#<status>#<unit>` — the same per article (status and unit never hold `#`,
 *   so the key stays unique whatever the article id holds);
 * - `AR#<articleId>` / `<date>#<status>#<unit>` — one article's days, so a query for one article reads only its own;
 * - `QA#<yyyy-mm>` / `<date>` — QA decisions per decision day (`released`, `rejected`, `blocked`) and the lead-time
 *   histogram (`lt<i>`: decisions whose lead time falls in LEAD_TIME_BUCKETS[i]);
 * - `EV#<eventID>` / `EV` — a stream record already applied (expires after MARKER_TTL_SECONDS);
 * - `DASH` / `<dashboardId>` — dashboards (functions/analytics/dashboards.ts).
 * Bucket items carry `n` (count) and `q` (quantity in thousandths of the unit, an integer: exact sums) and their
 * coordinates as plain attributes (`date`, `status`, `unit`, `articleId`).
 */

export const DECISION_STATUSES = ['released', 'rejected', 'blocked'] as const satisfies readonly ChargeStatus[];
export type DecisionStatus = (typeof DECISION_STATUSES)[number];

/**
 * Upper bounds (days, inclusive) of the lead-time histogram from production date to QA decision; one more bucket
 * holds everything above the last. Fine where decisions cluster (the first weeks), coarse after.
 */
export const LEAD_TIME_BUCKETS = [0, 1, 2, 3, 4, 5, 6, 7, 10, 14, 21, 30, 45, 60, 90, 180, 365] as const;
export const LEAD_TIME_OVERFLOW = LEAD_TIME_BUCKETS.length;
export const leadTimeAttribute = (bucket: number) => `lt${bucket}`;

/** A stream record is redelivered within the stream's 24 h retention plus retries: a week covers it well. */
export const MARKER_TTL_SECONDS = 7 * 24 * 60 * 60;

export const PK = {
  day: (date: string) => `CD#${date.slice(0, 7)}`,
  dayArticle: (date: string) => `CA#${date.slice(0, 7)}`,
  article: (articleId: string) => `AR#${articleId}`,
  qa: (date: string) => `QA#${date.slice(0, 7)}`,
  marker: (eventId: string) => `EV#${eventId}`,
} as const;
export const MARKER_SK = 'EV';

/** The fields of a charge item the aggregates read. */
export interface ChargeImage {
  sk?: unknown;
  articleId?: unknown;
  unit?: unknown;
  status?: unknown;
  quantity?: unknown;
  productionDate?: unknown;
  deletedAt?: unknown;
  updatedAt?: unknown;
}

/** One item's change: attributes to set (coordinates) and numbers to add. */
export interface ItemDelta {
  pk: string;
  sk: string;
  set: Record<string, string>;
  add: Record<string, number>;
}

export type Delta = ItemDelta[];

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Thousandths of the unit, as an integer: sums of them are exact. */
export const toMilli = (quantity: number) => Math.round(quantity * 1000);

const DAY_MS = 24 * 60 * 60 * 1000;
export const daysBetween = (from: string, to: string) =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);

export function leadTimeBucket(days: number): number {
  const i = LEAD_TIME_BUCKETS.findIndex((upper) => days <= upper);
  return i === -1 ? LEAD_TIME_OVERFLOW : i;
}

/** The live (not deleted) charge an item is, or undefined: version snapshots and deleted charges count nowhere. */
function liveCharge(image: ChargeImage | undefined) {
  if (!image || image.sk !== CHARGE_ITEM_SK || image.deletedAt !== undefined) return undefined;
  const articleId = str(image.articleId);
  const unit = str(image.unit);
  const status = str(image.status);
  const date = str(image.productionDate);
  const quantity = typeof image.quantity === 'number' ? image.quantity : Number.NaN;
  if (!articleId || !unit || !status || !date || !Number.isFinite(quantity)) {
    throw new Error('A charge item without articleId, unit, status, productionDate or quantity');
  }
  return { articleId, unit, status, date, milli: toMilli(quantity) };
}

/** The buckets a charge item counts in (none for a snapshot or a deleted charge), each with +1 and its quantity. */
export function contributions(image: ChargeImage | undefined): Delta {
  const c = liveCharge(image);
  if (!c) return [];
  const add = { n: 1, q: c.milli };
  const tail = `${c.status}#${c.unit}`;
  return [
    { pk: PK.day(c.date), sk: `${c.date}#${tail}`, set: { date: c.date, status: c.status, unit: c.unit }, add },
    {
      pk: PK.dayArticle(c.date),
      sk: `${c.date}#${c.articleId}#${tail}`,
      set: { date: c.date, status: c.status, unit: c.unit, articleId: c.articleId },
      add,
    },
    {
      pk: PK.article(c.articleId),
      sk: `${c.date}#${tail}`,
      set: { date: c.date, status: c.status, unit: c.unit, articleId: c.articleId },
      add,
    },
  ];
}

export interface Decision {
  status: DecisionStatus;
  /** The decision's day (UTC), from the item's `updatedAt`. */
  date: string;
  /** Days from production to a first decision out of quarantine; undefined for other decisions. */
  leadTimeDays?: number;
}

/**
 * A QA decision is a change of the live item's status to released, rejected or blocked (a return from blocked to
 * released included). Its lead time counts only for the decision that ends quarantine.
 */
export function decisionOf(before: ChargeImage | undefined, after: ChargeImage | undefined): Decision | undefined {
  if (!after || after.sk !== CHARGE_ITEM_SK) return undefined;
  const status = str(after.status);
  if (!status || !(DECISION_STATUSES as readonly string[]).includes(status)) return undefined;
  if (before && str(before.status) === status) return undefined;
  const updatedAt = str(after.updatedAt);
  const productionDate = str(after.productionDate);
  if (!updatedAt || !productionDate) throw new Error('A decided charge item without updatedAt or productionDate');
  const date = updatedAt.slice(0, 10);
  const fromQuarantine = str(before?.status) === 'quarantine' && status !== 'blocked';
  return {
    status: status as DecisionStatus,
    date,
    ...(fromQuarantine ? { leadTimeDays: Math.max(0, daysBetween(productionDate, date)) } : {}),
  };
}

export function decisionDelta(decision: Decision): ItemDelta {
  const add: Record<string, number> = { [decision.status]: 1 };
  if (decision.leadTimeDays !== undefined) add[leadTimeAttribute(leadTimeBucket(decision.leadTimeDays))] = 1;
  return { pk: PK.qa(decision.date), sk: decision.date, set: { date: decision.date }, add };
}

/** Adds deltas item by item; items whose numbers all cancel out are left out. */
export function mergeDeltas(parts: Iterable<ItemDelta>): Delta {
  const byKey = new Map<string, ItemDelta>();
  for (const part of parts) {
    const key = `${part.pk}\u0000${part.sk}`;
    const into = byKey.get(key);
    if (!into) {
      byKey.set(key, { pk: part.pk, sk: part.sk, set: { ...part.set }, add: { ...part.add } });
      continue;
    }
    Object.assign(into.set, part.set);
    for (const [k, v] of Object.entries(part.add)) into.add[k] = (into.add[k] ?? 0) + v;
  }
  const out: Delta = [];
  for (const item of byKey.values()) {
    for (const [k, v] of Object.entries(item.add)) if (v === 0) delete item.add[k];
    if (Object.keys(item.add).length > 0) out.push(item);
  }
  return out;
}

const negate = (d: ItemDelta): ItemDelta => ({
  ...d,
  add: Object.fromEntries(Object.entries(d.add).map(([k, v]) => [k, -v])),
});

/**
 * What one change of a charge item (old image → new image) does to the aggregates: its old buckets lose it, its new
 * ones gain it, and a QA decision is counted on its day. Applied exactly once per change, these deltas add up to the
 * same totals in any order (each is a difference of the item's states, so a sequence telescopes).
 */
export function changeDelta(before: ChargeImage | undefined, after: ChargeImage | undefined): Delta {
  const decision = decisionOf(before, after);
  return mergeDeltas([
    ...contributions(before).map(negate),
    ...contributions(after),
    ...(decision ? [decisionDelta(decision)] : []),
  ]);
}
