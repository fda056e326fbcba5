import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { conditionHeld, versionCondition } from '#platform/conditional-write';
import { documentDb } from '#platform/dynamo';
import { type CursorQuery, decodeCursor, encodeCursor, isKey, type KeyValue, queryFromCursor } from '#platform/cursor';
import { tableName } from '#platform/tables';
import { type LastChange, stampItem } from '#audit/attribution';
import { attributionKey } from '#audit/adapters';
import type { PublicRun, ReportDefinition } from './model';
import { DEFINITION_ENTITY, DEFINITION_UNSIGNED_FIELDS, definitionKey } from './definition-item';

// A definition is stored as the API shows it; a run also knows where its file is.
export type { ReportDefinition };
export { RUN_STATUSES, type RunStatus } from './model';

export interface ReportRun extends PublicRun {
  /** Where the file is in the object store (not shown by the API). */
  objectKey: string | null;
}

/**
 * Items of the `reports` table: `definition#<id>` and `run#<id>` (sk = the item type). The byKind index
 * (`kind`, `createdAtId`) lists each type newest first; `kind` is the item type, so a definition's own
 * report kind (charges|audit) is stored as `reportKind`.
 */
const DEFINITION = 'definition';
const RUN = 'run';
type ItemType = typeof DEFINITION | typeof RUN;

/** A filtered page may need several rounds to fill; it stops after this many and returns a cursor. */
const MAX_QUERY_ROUNDS = 10;

/** The cursor's list name per item type: `GET /reports/definitions` and `GET /reports/runs`. */
const LIST_NAME: Record<ItemType, string> = { [DEFINITION]: 'report-definitions', [RUN]: 'report-runs' };

/**
 * A start key of the byKind list of `type` (LastEvaluatedKey of an index: the table key and the index key),
 * inside the key condition `kind = type`, at an item of that type.
 */
const isListStart =
  (type: ItemType) =>
  (key: unknown): key is Record<string, KeyValue> =>
    isKey(key, ['pk', 'sk', 'kind', 'createdAtId']) &&
    key.kind === type &&
    key.sk === type &&
    String(key.pk).startsWith(`${type}#`);

function toDefinition(item: Record<string, unknown>): ReportDefinition {
  const {
    pk: _pk,
    sk: _sk,
    kind: _kind,
    createdAtId: _c,
    lastChange: _l,
    lastChangeMac: _m,
    reportKind,
    ...rest
  } = item;
  return { ...(rest as unknown as Omit<ReportDefinition, 'kind'>), kind: reportKind as ReportDefinition['kind'] };
}

function toRun(item: Record<string, unknown>): ReportRun {
  const { pk: _pk, sk: _sk, kind: _kind, createdAtId: _c, reportKind, ...rest } = item;
  return { ...(rest as unknown as Omit<ReportRun, 'kind'>), kind: reportKind as ReportRun['kind'] };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const MAX_TRANSACTION_ATTEMPTS = 20;

/** The item that counts the definitions (outside the byKind index: it has no `kind`). */
const DEFINITION_COUNT_KEY = { pk: 'count#definition', sk: 'count' };

/**
 * A definition as stored: its `kind` kept as `reportKind`, since `kind` is the item type the index sorts by; stamped
 * with `change` and the attribution MAC, the only attribution the audit trail believes.
 */
function definitionItem(def: ReportDefinition, change: LastChange) {
  const { kind, ...rest } = def;
  const item = {
    ...rest,
    reportKind: kind,
    lastChange: change,
    ...definitionKey(def.definitionId),
    kind: DEFINITION,
    createdAtId: `${def.createdAt}#${def.definitionId}`,
  };
  return stampItem(attributionKey(), DEFINITION_ENTITY, def.definitionId, item, DEFINITION_UNSIGNED_FIELDS);
}

/**
 * What a delete leaves for a moment: the definition's identity and the stamped delete, without its settings and
 * without index attributes (so lists never show it). Removing it afterwards is no change of its own.
 */
function tombstoneItem(def: ReportDefinition, change: LastChange) {
  const item = {
    ...definitionKey(def.definitionId),
    definitionId: def.definitionId,
    version: def.version + 1,
    createdAt: def.createdAt,
    createdBy: def.createdBy,
    updatedAt: change.at,
    updatedBy: change.actor,
    deletedAt: change.at,
    lastChange: change,
  };
  return stampItem(attributionKey(), DEFINITION_ENTITY, def.definitionId, item, DEFINITION_UNSIGNED_FIELDS);
}

export class ReportStore {
  private definitionCountExists = false;

  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('reports'),
  ) {}

  async getDefinition(id: string): Promise<ReportDefinition | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: definitionKey(id),
        ConsistentRead: true,
      }),
    );
    return Item && Item.deletedAt === undefined ? toDefinition(Item) : undefined;
  }

  /** Creates (expectedVersion undefined) or replaces the definition if it is still at `expectedVersion`. */
  async putDefinition(
    def: ReportDefinition,
    expectedVersion: number | undefined,
    change: LastChange,
  ): Promise<boolean> {
    const item = await definitionItem(def, change);
    return conditionHeld(
      this.db.send(new PutCommand({ TableName: this.table, Item: item, ...versionCondition(expectedVersion) })),
    );
  }

  /**
   * Creates the definition unless `max` exist already: the definition and the count item are written in one
   * transaction, so concurrent creates cannot pass the limit together.
   */
  async createDefinition(
    def: ReportDefinition,
    max: number,
    change: LastChange,
  ): Promise<'created' | 'exists' | 'limit'> {
    await this.ensureDefinitionCount();
    const item = await definitionItem(def, change);
    try {
      await this.transact(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: item,
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: DEFINITION_COUNT_KEY,
                UpdateExpression: 'SET #n = #n + :one',
                ConditionExpression: '#n < :max',
                ExpressionAttributeNames: { '#n': 'count' },
                ExpressionAttributeValues: { ':one': 1, ':max': max },
              },
            },
          ],
        }),
      );
      return 'created';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const [put, count] = err.CancellationReasons ?? [];
      if (put?.Code === 'ConditionalCheckFailed') return 'exists';
      if (count?.Code === 'ConditionalCheckFailed') return 'limit';
      throw err;
    }
  }

  /**
   * Deletes the definition (as read, at its version) and counts it off; false when it is gone or changed meanwhile.
   * The stamped tombstone (the delete the audit trail records) and the count go in one transaction, so a delete
   * either counts off or leaves the definition as it was; removing the tombstone afterwards is housekeeping (a
   * tombstone left behind reads as absent and is counted nowhere).
   */
  async deleteDefinition(def: ReportDefinition, change: LastChange): Promise<boolean> {
    await this.ensureDefinitionCount();
    const tombstone = await tombstoneItem(def, change);
    try {
      await this.transact(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: tombstone,
                ConditionExpression: '#v = :v AND attribute_not_exists(deletedAt)',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': def.version },
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: DEFINITION_COUNT_KEY,
                UpdateExpression: 'SET #n = #n - :one',
                ExpressionAttributeNames: { '#n': 'count' },
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ],
        }),
      );
    } catch (err) {
      const [put] = err instanceof TransactionCanceledException ? (err.CancellationReasons ?? []) : [];
      if (put?.Code === 'ConditionalCheckFailed') return false;
      throw err;
    }
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: definitionKey(def.definitionId),
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': tombstone.version },
        }),
      )
      // Already counted off and recorded: a tombstone that stays is absent to every reader and counted nowhere.
      .catch(() => undefined);
    return true;
  }

  /**
   * Creates and deletes at the same time all update the count item: DynamoDB cancels all but one with
   * `TransactionConflict`, which the SDK does not retry. Those are tried again, a little apart.
   */
  private async transact(command: TransactWriteCommand): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(command);
        return;
      } catch (err) {
        const conflict =
          err instanceof TransactionCanceledException &&
          (err.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');
        if (!conflict || attempt >= MAX_TRANSACTION_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  /** The count item, made once from the definitions that exist (those stored before it was kept). */
  private async ensureDefinitionCount(): Promise<void> {
    if (this.definitionCountExists) return;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: DEFINITION_COUNT_KEY, ConsistentRead: true }),
    );
    if (!Item) {
      const count = (await this.allDefinitions()).length;
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...DEFINITION_COUNT_KEY, count },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (err) {
        // Another request made it first.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    this.definitionCountExists = true;
  }

  listDefinitions(limit: number, cursor?: string): Promise<Page<ReportDefinition>> {
    return this.page(DEFINITION, limit, cursor, toDefinition);
  }

  /** Every definition (the local scheduler loads them at start). */
  async allDefinitions(): Promise<ReportDefinition[]> {
    const out: ReportDefinition[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listDefinitions(100, cursor);
      out.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  }

  async putRun(run: ReportRun): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        // `kind` is the item type here too: the run's report kind, which gates its file, is `reportKind`.
        Item: {
          ...run,
          pk: `${RUN}#${run.runId}`,
          sk: RUN,
          kind: RUN,
          reportKind: run.kind,
          createdAtId: `${run.startedAt}#${run.runId}`,
        },
      }),
    );
  }

  /** Sets the outcome fields of a run (only while it exists). */
  async finishRun(runId: string, outcome: Partial<ReportRun>): Promise<void> {
    const entries = Object.entries(outcome);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `${RUN}#${runId}`, sk: RUN },
        ConditionExpression: 'attribute_exists(pk)',
        UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v ?? null])),
      }),
    );
  }

  async getRun(runId: string): Promise<ReportRun | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: `${RUN}#${runId}`, sk: RUN }, ConsistentRead: true }),
    );
    return Item ? toRun(Item) : undefined;
  }

  listRuns(limit: number, cursor?: string, definitionId?: string): Promise<Page<ReportRun>> {
    return this.page(RUN, limit, cursor, toRun, definitionId);
  }

  /**
   * One page of the byKind list of `type`, newest first; runs may be filtered by definition (a filter
   * expression, so a page may take several rounds to fill). A cursor belongs to this list and filter
   * (`functions/platform/cursor.ts`) and starts at an item of this type.
   */
  private async page<T>(
    type: ItemType,
    limit: number,
    cursor: string | undefined,
    map: (item: Record<string, unknown>) => T,
    definitionId?: string,
  ): Promise<Page<T>> {
    const query: CursorQuery = { list: LIST_NAME[type], filters: { definitionId } };
    const items: T[] = [];
    let start: Record<string, unknown> | undefined = cursor
      ? decodeCursor(cursor, query, isListStart(type))
      : undefined;
    for (let round = 0; round < MAX_QUERY_ROUNDS && items.length < limit; round++) {
      const input: QueryCommandInput = {
        TableName: this.table,
        IndexName: 'byKind',
        KeyConditionExpression: '#kind = :kind',
        ExpressionAttributeNames: { '#kind': 'kind', ...(definitionId ? { '#d': 'definitionId' } : {}) },
        ExpressionAttributeValues: { ':kind': type, ...(definitionId ? { ':d': definitionId } : {}) },
        FilterExpression: definitionId ? '#d = :d' : undefined,
        ScanIndexForward: false,
        Limit: limit - items.length,
        ExclusiveStartKey: start,
      };
      const page = await queryFromCursor(round === 0 && Boolean(cursor), () => this.db.send(new QueryCommand(input)));
      items.push(...(page.Items ?? []).map(map));
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return { items, nextCursor: start ? encodeCursor(query, start) : null };
  }
}
