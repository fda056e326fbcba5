import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
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

type ListIndex = 'byArticle' | 'byStatus' | 'byProductionDate';

/** Each list index's partition key attribute; its sort key is `listSk`. */
const LIST_PARTITION: Record<ListIndex, 'articleId' | 'status' | 'listPk'> = {
  byArticle: 'articleId',
  byStatus: 'status',
  byProductionDate: 'listPk',
};

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

  async create(charge: ChargeState): Promise<boolean> {
    const { live, snapshot } = toItems(charge);
    return this.transact([
      { Put: { TableName: this.table, Item: live, ConditionExpression: 'attribute_not_exists(chargeId)' } },
      { Put: { TableName: this.table, Item: snapshot, ConditionExpression: 'attribute_not_exists(chargeId)' } },
    ]);
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

  private async transact(items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>) {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (err) {
      if (
        err instanceof TransactionCanceledException &&
        err.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')
      ) {
        return false;
      }
      throw err;
    }
  }
}
