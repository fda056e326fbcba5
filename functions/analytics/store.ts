import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { type Delta, MARKER_SK, MARKER_TTL_SECONDS, mergeDeltas, PK } from './aggregates';

/** A stream record's change to the aggregates, and the id that makes it count once. */
export interface PendingChange {
  eventId: string;
  delta: Delta;
  /** When the change was committed (epoch ms), kept on the marker: applied − changed is the consumer's lag. */
  changedAt?: number;
}

export interface ApplyResult {
  applied: string[];
  duplicates: string[];
}

/** DynamoDB's limit of items per transaction. */
const MAX_TRANSACTION_ITEMS = 100;
/** Concurrent changes of the same bucket cancel each other's transactions (`TransactionConflict`): tried again. */
const MAX_ATTEMPTS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type BucketLevel = 'day' | 'dayArticle';

/** A stored bucket: its coordinates and numbers as kept. */
export type StoredItem = Record<string, unknown> & { pk: string; sk: string };

/** The months (`yyyy-mm`) a date range touches, in order. */
export function monthsOf(from: string, to: string): string[] {
  const out: string[] = [];
  let [y, m] = from.slice(0, 7).split('-').map(Number) as [number, number];
  const last = to.slice(0, 7);
  for (;;) {
    const month = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`;
    out.push(month);
    if (month >= last) return out;
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
}

/** Aggregates on DynamoDB: applying stream changes exactly once, and reading buckets by date range. */
export class AnalyticsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    readonly table: string = tableName('analytics'),
  ) {}

  /**
   * Applies changes, each exactly once: a change's bucket updates and its marker (a put on the condition that the
   * marker does not exist) are in the same transaction. Changes are packed into as few transactions as DynamoDB's
   * 100-item limit allows (their bucket updates merged); a transaction cancelled by a marker that exists drops that
   * change as a duplicate and goes again without it.
   */
  async apply(changes: readonly PendingChange[], now = new Date()): Promise<ApplyResult> {
    const result: ApplyResult = { applied: [], duplicates: [] };
    let pending = changes.filter((c) => c.delta.length > 0);
    while (pending.length > 0) {
      const group: PendingChange[] = [];
      let merged: Delta = [];
      for (const change of pending) {
        const next = mergeDeltas([...merged, ...change.delta]);
        if (group.length > 0 && group.length + 1 + next.length > MAX_TRANSACTION_ITEMS) break;
        group.push(change);
        merged = next;
      }
      pending = pending.slice(group.length);
      const outcome = await this.applyGroup(group, merged, now);
      result.applied.push(...outcome.applied);
      result.duplicates.push(...outcome.duplicates);
    }
    return result;
  }

  private async applyGroup(group: PendingChange[], merged: Delta, now: Date): Promise<ApplyResult> {
    const expiresAt = Math.floor(now.getTime() / 1000) + MARKER_TTL_SECONDS;
    for (let attempt = 1; ; attempt++) {
      const appliedAt = new Date().toISOString();
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              ...group.map((c) => ({
                Put: {
                  TableName: this.table,
                  Item: {
                    pk: PK.marker(c.eventId),
                    sk: MARKER_SK,
                    appliedAt,
                    ...(c.changedAt !== undefined ? { changedAt: new Date(c.changedAt).toISOString() } : {}),
                    expiresAt,
                  },
                  // An expired marker DynamoDB has not deleted yet still counts: a record that old is never redelivered.
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
              ...merged.map((d) => this.update(d)),
            ],
          }),
        );
        return { applied: group.map((c) => c.eventId), duplicates: [] };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        const duplicate = new Set(
          group.filter((_, i) => reasons[i]?.Code === 'ConditionalCheckFailed').map((c) => c.eventId),
        );
        if (duplicate.size > 0) {
          const rest = group.filter((c) => !duplicate.has(c.eventId));
          const again = await this.apply(rest, now);
          return { applied: again.applied, duplicates: [...duplicate, ...again.duplicates] };
        }
        const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= MAX_ATTEMPTS) throw err;
        await sleep(Math.random() * 10 * attempt);
      }
    }
  }

  private update(d: Delta[number]) {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const adds = Object.entries(d.add).map(([k, v], i) => {
      names[`#a${i}`] = k;
      values[`:a${i}`] = v;
      return `#a${i} :a${i}`;
    });
    const sets = Object.entries(d.set).map(([k, v], i) => {
      names[`#s${i}`] = k;
      values[`:s${i}`] = v;
      return `#s${i} = :s${i}`;
    });
    return {
      Update: {
        TableName: this.table,
        Key: { pk: d.pk, sk: d.sk },
        UpdateExpression: `ADD ${adds.join(', ')}${sets.length > 0 ? ` SET ${sets.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  /** Every item of one partition whose sort key lies in [from, to] (dates; `to` takes the whole day). */
  async partition(pk: string, from: string, to: string): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': `${to}~` },
        ExclusiveStartKey: start,
      };
      const page = await this.db.send(new QueryCommand(input));
      items.push(...((page.Items ?? []) as StoredItem[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Charge buckets of a date range at one level: one Query per month, run together. */
  async buckets(level: BucketLevel, from: string, to: string): Promise<StoredItem[]> {
    const pk = level === 'day' ? PK.day : PK.dayArticle;
    const parts = await Promise.all(monthsOf(from, to).map((m) => this.partition(pk(`${m}-01`), from, to)));
    return parts.flat();
  }

  /** One article's buckets of a date range. */
  articleBuckets(articleId: string, from: string, to: string): Promise<StoredItem[]> {
    return this.partition(PK.article(articleId), from, to);
  }

  /** QA decision days of a date range. */
  async qaDays(from: string, to: string): Promise<StoredItem[]> {
    const parts = await Promise.all(monthsOf(from, to).map((m) => this.partition(PK.qa(`${m}-01`), from, to)));
    return parts.flat();
  }
}
