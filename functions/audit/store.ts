import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { type AuditItem, entityKeyOf, fromAuditItem, type AuditRecord } from './record';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import {
  type CursorQuery,
  decodeCursor,
  encodeCursor,
  inRange,
  isKey,
  type KeyValue,
  queryFromCursor,
} from '#platform/cursor';

export interface AuditFilter {
  entityType?: string;
  entityId?: string;
  actor?: string;
  action?: string;
  /** ISO instants, inclusive. */
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

/**
 * Where a time-only query starts when it names no `from`: the byMonth index is read month by month, and
 * there is no audit record before the system existed.
 */
export const AUDIT_EPOCH = '2025-01-01T00:00:00.000Z';

/** Queries that read items, per page: a filtered page may need several rounds to fill. */
const MAX_QUERY_ROUNDS = 25;
/**
 * Months found empty, per page, walked on top of those rounds: so that a page does not come back empty
 * (with a cursor) just because its months are. The walk never leaves the system's lifetime (`walkedMonths`),
 * so this only bounds a request once the system is more than ten years old.
 */
const MAX_EMPTY_MONTHS = 120;
const DAY_MS = 86_400_000;

type Strategy = 'entity' | 'actor' | 'month';

/** Where the next page starts: the month being read (time queries) and the key within it. */
interface Position {
  m?: string;
  k?: Record<string, KeyValue>;
}

/** LastEvaluatedKey attributes: the table key, plus the index key when reading an index. */
const TABLE_KEY = ['entityKey', 'seq'] as const;
const NUMERIC = ['seq'] as const;

/**
 * The months a time query walks: `from`…`to`, clamped to the system's lifetime, [AUDIT_EPOCH, now + 1 day]
 * (a day of slack for clocks). `from=0001-01-01&to=9999-12-31` would otherwise be 120 000 Queries.
 */
export function walkedMonths(from: string, to: string, now: Date): string[] {
  const latest = new Date(now.getTime() + DAY_MS).toISOString();
  return monthsBetween(from < AUDIT_EPOCH ? AUDIT_EPOCH : from, to > latest ? latest : to);
}

function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [y, m] = from.slice(0, 7).split('-').map(Number) as [number, number];
  const last = to.slice(0, 7);
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    if (month > last) break;
    months.push(month);
    m += 1;
    if (m > 12) {
      m = 1;
      y += 1;
    }
  }
  return months;
}

/** Reads the audit table through its key (one entity), byActor (one user) or byMonth (time), never a scan. */
export class AuditStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('audit'),
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The whole chain of one entity in order, strongly consistent, as stored: with the index attributes, which
   * verification checks against what each record derives.
   */
  async chain(entityType: string, entityId: string): Promise<AuditItem[]> {
    const records: AuditItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'entityKey = :k',
          ExpressionAttributeValues: { ':k': entityKeyOf(entityType, entityId) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      records.push(...((page.Items ?? []) as AuditItem[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return records;
  }

  async search(filter: AuditFilter): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
    const now = this.now();
    const from = filter.from ?? AUDIT_EPOCH;
    const to = filter.to ?? now.toISOString();
    // A `from` in the future with no `to` (which means now): nothing can lie in that range, and DynamoDB refuses a
    // BETWEEN whose bounds are the wrong way round. (An explicit `to` before `from` is 422 at the edge.)
    if (from > to) return { items: [], nextCursor: null };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const filters: string[] = [];
    const addFilter = (attr: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${attr}`] = attr;
      values[`:${attr}`] = value;
      filters.push(`#${attr} = :${attr}`);
    };

    const strategy: Strategy =
      filter.entityType !== undefined && filter.entityId !== undefined
        ? 'entity'
        : filter.actor !== undefined
          ? 'actor'
          : 'month';
    // A cursor belongs to this query (strategy and every filter) and starts inside its key condition.
    const query: CursorQuery = {
      list: 'audit',
      filters: {
        strategy,
        entityType: filter.entityType,
        entityId: filter.entityId,
        actor: filter.actor,
        action: filter.action,
        from: filter.from,
        to: filter.to,
      },
    };
    const entityKey =
      strategy === 'entity' ? entityKeyOf(filter.entityType as string, filter.entityId as string) : undefined;
    const atEnd = `${to}~`;
    const allMonths = strategy === 'month' ? walkedMonths(from, to, now) : [];
    const isStart = (p: unknown): p is Position => {
      if (!p || typeof p !== 'object' || Array.isArray(p)) return false;
      const { m, k, ...rest } = p as Position;
      if (Object.keys(rest).length > 0) return false;
      if (strategy === 'entity') return m === undefined && isKey(k, TABLE_KEY, NUMERIC) && k.entityKey === entityKey;
      if (strategy === 'actor') {
        const key = [...TABLE_KEY, 'actorId', 'atId'];
        return m === undefined && isKey(k, key, NUMERIC) && k.actorId === filter.actor && inRange(k.atId, from, atEnd);
      }
      if (typeof m !== 'string' || !allMonths.includes(m)) return false;
      return (
        k === undefined ||
        (isKey(k, [...TABLE_KEY, 'month', 'atId'], NUMERIC) && k.month === m && inRange(k.atId, from, atEnd))
      );
    };
    const cursor = filter.cursor ? decodeCursor(filter.cursor, query, isStart) : undefined;
    let base: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>;
    let months: string[] = [];

    if (strategy === 'entity') {
      names['#at'] = 'at';
      Object.assign(values, { ':k': entityKey, ':from': from, ':to': to });
      filters.push('#at BETWEEN :from AND :to');
      addFilter('actorId', filter.actor);
      addFilter('action', filter.action);
      base = { TableName: this.table, KeyConditionExpression: 'entityKey = :k' };
    } else {
      Object.assign(values, { ':from': from, ':to': atEnd });
      addFilter('entityType', filter.entityType);
      addFilter('action', filter.action);
      if (strategy === 'actor') {
        values[':a'] = filter.actor;
        base = {
          TableName: this.table,
          IndexName: 'byActor',
          KeyConditionExpression: 'actorId = :a AND atId BETWEEN :from AND :to',
        };
      } else {
        months = cursor?.m ? allMonths.filter((m) => m >= (cursor.m as string)) : allMonths;
        base = {
          TableName: this.table,
          IndexName: 'byMonth',
          KeyConditionExpression: '#month = :m AND atId BETWEEN :from AND :to',
        };
        names['#month'] = 'month';
      }
    }
    base.ExpressionAttributeNames = Object.keys(names).length > 0 ? names : undefined;
    base.ExpressionAttributeValues = values;
    base.FilterExpression = filters.length > 0 ? filters.join(' AND ') : undefined;

    const items: AuditRecord[] = [];
    let start: Record<string, unknown> | undefined = cursor?.k;
    let month = strategy === 'month' ? months.shift() : undefined;
    let rounds = 0;
    let emptyMonths = 0;
    let first = true;
    while (items.length < filter.limit && rounds < MAX_QUERY_ROUNDS && emptyMonths < MAX_EMPTY_MONTHS) {
      if (strategy === 'month') {
        if (month === undefined) break;
        values[':m'] = month;
      }
      const input = { ...base, Limit: filter.limit - items.length, ExclusiveStartKey: start };
      const page = await queryFromCursor(first && cursor?.k !== undefined, () => this.db.send(new QueryCommand(input)));
      first = false;
      // A month with nothing in it costs one small Query; it counts against its own, larger budget.
      if (strategy === 'month' && !page.ScannedCount && !page.LastEvaluatedKey) emptyMonths += 1;
      else rounds += 1;
      items.push(...(page.Items ?? []).map(fromAuditItem));
      start = page.LastEvaluatedKey;
      if (!start) {
        if (strategy !== 'month') break;
        month = months.shift();
      }
    }
    const more = strategy === 'month' ? month !== undefined : start !== undefined;
    return { items, nextCursor: more ? encodeCursor(query, { m: month, k: start }) : null };
  }
}
