import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { CHARGE_ITEM_SK, type ChargeState, type ChargeStatus, VERSION_SK_PREFIX, versionSk } from './model';
import {
  type CursorQuery,
  decodeCursor,
  encodeCursor,
  inRange,
  isKey,
  type KeyValue,
  queryFromCursor,
} from '#platform/cursor';

export interface ChargeListFilter {
  status?: ChargeStatus;
  articleId?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

export interface ChargePage {
  items: ChargeState[];
  nextCursor: string | null;
}

/** Every live charge is in the one list partition of `byProductionDate`; `listSk` orders by production date. */
const LIST_PK = 'CHARGE';
const listSk = (c: ChargeState) => `${c.productionDate}#${c.chargeId}`;
/** Upper bound for "production date ≤ to": `~` sorts after every character of a charge id. */
const DATE_END = '~';

/** Round trips a filtered page may take to fill up before it returns what it has, with a cursor. */
const MAX_QUERY_ROUNDS = 10;
/**
 * Items a filtered round reads (DynamoDB applies `Limit` before the filter): enough that an article with a
 * few hundred lots in other statuses still fills its page in one or two rounds, where reading only what
 * still fits could hand back an empty page while matches lay further on.
 */
const FILTERED_ROUND_ITEMS = 500;

/** The live item and the version snapshot of a charge, as stored (exported for bulk seeding in tests and benchmarks). */
export function toItems(charge: ChargeState) {
  const live = charge.deletedAt
    ? { ...charge, sk: CHARGE_ITEM_SK }
    : { ...charge, sk: CHARGE_ITEM_SK, listPk: LIST_PK, listSk: listSk(charge) };
  return { live, snapshot: { ...charge, sk: versionSk(charge.version) } };
}

function stripKeys(item: Record<string, unknown>): ChargeState {
  const { sk: _sk, listPk: _lp, listSk: _ls, ...state } = item;
  return state as unknown as ChargeState;
}

/** Tries of a transaction that lost a conflict with another one on the same items. */
const TRANSACTION_ATTEMPTS = 5;

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

type ListIndex = 'byArticle' | 'byStatus' | 'byProductionDate';

/** Each list index's partition key attribute; its sort key is `listSk`. */
const LIST_PARTITION: Record<ListIndex, 'articleId' | 'status' | 'listPk'> = {
  byArticle: 'articleId',
  byStatus: 'status',
  byProductionDate: 'listPk',
};

/**
 * A lot number's claim: one item per lot number, put in the transaction that creates its charge, so two charges
 * can never hold the same one. Keyed by the upper-case form: `LOT-7a` and `LOT-7A` read the same on a label.
 */
export const lotKey = (lotNumber: string) => ({ chargeId: `LOT#${lotNumber.toUpperCase()}`, sk: 'LOT' });
/** The counter behind the lot numbers the server assigns, one per production year. */
export const lotSequenceKey = (year: string) => ({ chargeId: `LOTSEQ#${year}`, sk: 'LOTSEQ' });

export type CreateOutcome = 'created' | 'lot-taken' | 'exists';

export interface VersionPage {
  versions: ChargeState[];
  /** The version the page before ends at (the first of this page minus one), for its changes. */
  previous: ChargeState | undefined;
  /** Where the next page starts, if there is more. */
  next: { chargeId: string; sk: string } | undefined;
}

/** Charges on DynamoDB: the live item and one immutable snapshot per version, written together. */
export class ChargeStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('charges'),
  ) {}

  async get(chargeId: string): Promise<ChargeState | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { chargeId, sk: CHARGE_ITEM_SK }, ConsistentRead: true }),
    );
    return result.Item ? stripKeys(result.Item) : undefined;
  }

  /** The charge, its first snapshot and its lot number's claim, all or nothing. */
  async create(charge: ChargeState): Promise<CreateOutcome> {
    const { live, snapshot } = toItems(charge);
    const items: TransactItems = [
      { Put: { TableName: this.table, Item: live, ConditionExpression: 'attribute_not_exists(chargeId)' } },
      { Put: { TableName: this.table, Item: snapshot, ConditionExpression: 'attribute_not_exists(chargeId)' } },
    ];
    if (charge.lotNumber !== undefined) {
      // Only the keys, the lot number and its charge: no attribute of a list index, so it is in none.
      const claim = { ...lotKey(charge.lotNumber), lotNumber: charge.lotNumber, owner: charge.chargeId };
      items.push({
        Put: { TableName: this.table, Item: claim, ConditionExpression: 'attribute_not_exists(chargeId)' },
      });
    }
    const failed = await this.transactFailures(items);
    if (failed === undefined) return 'created';
    return failed.includes(2) ? 'lot-taken' : 'exists';
  }

  /** The next number of a production year's lot sequence: atomic, never handed out twice (gaps are possible). */
  async nextLotSequence(year: string): Promise<number> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: lotSequenceKey(year),
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'next' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(result.Attributes?.next);
  }

  /** The charge holding a lot number (one GetItem on its claim), if any. */
  async chargeIdOfLot(lotNumber: string): Promise<string | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: lotKey(lotNumber), ConsistentRead: true }),
    );
    const owner = result.Item?.owner;
    return typeof owner === 'string' ? owner : undefined;
  }

  async save(next: ChargeState, expectedVersion: number): Promise<boolean> {
    const { live, snapshot } = toItems(next);
    return this.transact([
      {
        Put: {
          TableName: this.table,
          Item: live,
          ConditionExpression: '#v = :expected AND attribute_not_exists(deletedAt)',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        },
      },
      { Put: { TableName: this.table, Item: snapshot, ConditionExpression: 'attribute_not_exists(chargeId)' } },
    ]);
  }

  /** The immutable snapshot of one version, as stored. */
  async snapshot(chargeId: string, version: number): Promise<ChargeState | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { chargeId, sk: versionSk(version) }, ConsistentRead: true }),
    );
    return result.Item ? stripKeys(result.Item) : undefined;
  }

  /**
   * One page of a charge's versions, oldest first: a Query on the snapshots from `after` (exclusive) for `limit`
   * items, plus the snapshot just before the page for its first entry's changes — never the whole history.
   */
  async versionPage(chargeId: string, limit: number, after?: { chargeId: string; sk: string }): Promise<VersionPage> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'chargeId = :id AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':id': chargeId, ':v': VERSION_SK_PREFIX },
        ConsistentRead: true,
        // One more than the page: whether there is a next page is then known without an empty last page.
        Limit: limit + 1,
        ExclusiveStartKey: after,
      }),
    );
    const items = (page.Items ?? []).map(stripKeys);
    const more = items.length > limit;
    if (more) items.length = limit;
    const first = items[0];
    const previous = first && first.version > 1 ? await this.snapshot(chargeId, first.version - 1) : undefined;
    const last = items.at(-1);
    return {
      versions: items,
      previous,
      next: more && last ? { chargeId, sk: versionSk(last.version) } : undefined,
    };
  }

  /**
   * The latest `n` snapshots in ascending order, and how many earlier versions exist. Versions are numbered
   * 1, 2, 3… without gaps, so the count is the first returned version minus one: nothing earlier is read.
   */
  async latestVersions(chargeId: string, n: number): Promise<{ versions: ChargeState[]; earlier: number }> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError('latestVersions needs n ≥ 1');
    const versions: ChargeState[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'chargeId = :id AND begins_with(sk, :v)',
          ExpressionAttributeValues: { ':id': chargeId, ':v': VERSION_SK_PREFIX },
          ConsistentRead: true,
          ScanIndexForward: false,
          Limit: n - versions.length,
          ExclusiveStartKey: start,
        }),
      );
      versions.push(...(page.Items ?? []).map(stripKeys));
      start = page.LastEvaluatedKey;
    } while (start && versions.length < n);
    versions.reverse();
    return { versions, earlier: versions.length > 0 ? versions[0]!.version - 1 : 0 };
  }

  /** Every snapshot, oldest first. Reads the whole history: for tests and tools, not for a request. */
  async versions(chargeId: string): Promise<ChargeState[]> {
    const out: ChargeState[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'chargeId = :id AND begins_with(sk, :v)',
          ExpressionAttributeValues: { ':id': chargeId, ':v': VERSION_SK_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []).map(stripKeys));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * One index per filter shape, newest production date first: article (most selective) or status or the
   * plain list, each with the date range on `listSk`. Only live charges carry `listSk`, so deleted charges
   * and version snapshots are in none of these indexes. Never a scan.
   */
  async list(filter: ChargeListFilter): Promise<ChargePage> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    let index: ListIndex;
    let keyCondition: string;
    let filterExpression: string | undefined;
    if (filter.articleId !== undefined) {
      index = 'byArticle';
      keyCondition = 'articleId = :pk';
      values[':pk'] = filter.articleId;
      if (filter.status) {
        filterExpression = '#status = :status';
        names['#status'] = 'status';
        values[':status'] = filter.status;
      }
    } else if (filter.status) {
      index = 'byStatus';
      keyCondition = '#status = :pk';
      names['#status'] = 'status';
      values[':pk'] = filter.status;
    } else {
      index = 'byProductionDate';
      keyCondition = 'listPk = :pk';
      values[':pk'] = LIST_PK;
    }
    const lower = filter.from;
    const upper = filter.to === undefined ? undefined : `${filter.to}${DATE_END}`;
    if (lower || upper) names['#sk'] = 'listSk';
    if (lower && upper) {
      keyCondition += ' AND #sk BETWEEN :from AND :to';
      Object.assign(values, { ':from': lower, ':to': upper });
    } else if (lower) {
      keyCondition += ' AND #sk >= :from';
      values[':from'] = lower;
    } else if (upper) {
      keyCondition += ' AND #sk <= :to';
      values[':to'] = upper;
    }

    // A cursor belongs to this query (its filters) and starts at a live charge inside this key condition.
    const query: CursorQuery = {
      list: 'charges',
      filters: { status: filter.status, articleId: filter.articleId, from: filter.from, to: filter.to },
    };
    const partition = LIST_PARTITION[index];
    const isStart = (key: unknown): key is Record<string, KeyValue> =>
      isKey(key, ['chargeId', 'sk', partition, 'listSk']) &&
      key[partition] === values[':pk'] &&
      key.sk === CHARGE_ITEM_SK &&
      inRange(key.listSk, lower, upper);

    const items: ChargeState[] = [];
    let start: Record<string, unknown> | undefined = filter.cursor
      ? decodeCursor(filter.cursor, query, isStart)
      : undefined;
    for (let round = 0; round < MAX_QUERY_ROUNDS && items.length < filter.limit; round++) {
      const room = filter.limit - items.length;
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: index,
        KeyConditionExpression: keyCondition,
        FilterExpression: filterExpression,
        ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        // Unfiltered: never more than still fits, so the page ends exactly at LastEvaluatedKey.
        Limit: filterExpression ? Math.max(room, FILTERED_ROUND_ITEMS) : room,
        ExclusiveStartKey: start,
      };
      const page = await queryFromCursor(round === 0 && filter.cursor !== undefined, () =>
        this.db.send(new QueryCommand(input)),
      );
      const found = page.Items ?? [];
      start = page.LastEvaluatedKey;
      if (found.length > room) {
        // More matches than fit: the page ends at the last one taken, and the next starts right after it.
        const last = found[room - 1] as Record<string, unknown>;
        start = { chargeId: last.chargeId, sk: last.sk, [partition]: last[partition], listSk: last.listSk };
        found.length = room;
      }
      items.push(...found.map(stripKeys));
      if (!start) break;
    }
    return { items, nextCursor: start ? encodeCursor(query, start) : null };
  }

  private async transact(items: TransactItems) {
    return (await this.transactFailures(items)) === undefined;
  }

  /** Runs the transaction: undefined when written, else the indexes of the items whose condition failed. */
  private async transactFailures(items: TransactItems): Promise<number[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (err) {
        const reasons = err instanceof TransactionCanceledException ? (err.CancellationReasons ?? []) : [];
        const failed = reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
        if (failed.length > 0) return failed;
        // Another transaction on the same items was in flight: once it is done, ours meets its conditions or not.
        if (attempt < TRANSACTION_ATTEMPTS && reasons.some((r) => r.Code === 'TransactionConflict')) {
          await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 20));
          continue;
        }
        throw err;
      }
    }
  }
}
