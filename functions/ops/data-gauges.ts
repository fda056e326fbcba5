import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { QueryCommand, ScanCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { STATUSES } from '#charges/model';
import { RUN_STATUSES } from '#reports/model';
import { documentDb, dynamoClient } from '#platform/dynamo';
import {
  auditLastRecordAge,
  auditRecords,
  chargesByStatus,
  lockedAccounts,
  reportRuns,
  signingKeyAge,
  usersTotal,
} from '#platform/observability/prometheus';
import { accessTokens } from '#signing/tokens';
import { tableName } from '#platform/tables';

/**
 * Gauges read from the data at scrape time. Counting reads whole indexes (never the base tables' hot
 * path), so results are cached for CACHE_MS: a scrape every 15 s costs at most one pass per window.
 */
const CACHE_MS = 10_000;
let refreshed = 0;
let refreshing: Promise<void> | undefined;

async function count(input: QueryCommandInput): Promise<number> {
  let total = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandInput = { ...input, Select: 'COUNT', ExclusiveStartKey: startKey };
    const out = await documentDb().send(new QueryCommand(page));
    total += out.Count ?? 0;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return total;
}

async function countLockedUsernames(now: number): Promise<number> {
  let locked = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documentDb().send(
      new ScanCommand({
        TableName: tableName('auth-state'),
        FilterExpression: 'begins_with(pk, :login)',
        ExpressionAttributeValues: { ':login': 'login#' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of out.Items ?? []) {
      const pairs = Object.values((item.pairs ?? {}) as Record<string, { lockedUntil?: number }>);
      if ((item.lockedUntil ?? 0) > now || pairs.some((p) => (p.lockedUntil ?? 0) > now)) locked++;
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return locked;
}

/**
 * The audit trail grows without bound, so it is never counted by reading it: DynamoDB keeps the `byActor` index's
 * item count (exactly the audit records; idempotency markers carry no actor), refreshed about every six hours.
 */
export async function auditRecordCount(): Promise<number> {
  const out = await dynamoClient().send(new DescribeTableCommand({ TableName: tableName('audit') }));
  return out.Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === 'byActor')?.ItemCount ?? 0;
}

async function newestAuditAt(): Promise<number | undefined> {
  const month = new Date().toISOString().slice(0, 7);
  for (const m of [month, new Date(Date.now() - 31 * 86400_000).toISOString().slice(0, 7)]) {
    const out = await documentDb().send(
      new QueryCommand({
        TableName: tableName('audit'),
        IndexName: 'byMonth',
        KeyConditionExpression: '#m = :m',
        ExpressionAttributeNames: { '#m': 'month' },
        ExpressionAttributeValues: { ':m': m },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const at = out.Items?.[0]?.at;
    if (typeof at === 'string') return Date.parse(at);
  }
  return undefined;
}

/** Report runs by status: one pass over the `run` items of the byKind index, reading only `status`. */
async function countRunsByStatus(): Promise<Map<string, number>> {
  const counts = new Map<string, number>(RUN_STATUSES.map((s) => [s, 0]));
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documentDb().send(
      new QueryCommand({
        TableName: tableName('reports'),
        IndexName: 'byKind',
        KeyConditionExpression: 'kind = :run',
        ExpressionAttributeValues: { ':run': 'run' },
        ProjectionExpression: '#s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of out.Items ?? []) counts.set(String(item.status), (counts.get(String(item.status)) ?? 0) + 1);
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return counts;
}

async function refresh(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const charges = tableName('charges');
  const [statusCounts, users, locked, audit, newest, ring, runs] = await Promise.all([
    Promise.all(
      STATUSES.map((status) =>
        count({
          TableName: charges,
          IndexName: 'byStatus',
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status },
        }),
      ),
    ),
    count({
      TableName: tableName('users'),
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :u',
      ExpressionAttributeValues: { ':u': 'user' },
    }),
    countLockedUsernames(now),
    auditRecordCount(),
    newestAuditAt(),
    accessTokens()
      .ring.snapshot()
      .catch(() => undefined),
    countRunsByStatus(),
  ]);
  for (const [status, count] of runs) reportRuns.set({ status }, count);
  STATUSES.forEach((status, i) => chargesByStatus.set({ status }, statusCounts[i] ?? 0));
  usersTotal.set(users);
  lockedAccounts.set(locked);
  auditRecords.set(audit);
  if (newest !== undefined) auditLastRecordAge.set(Math.max(0, (Date.now() - newest) / 1000));
  const created = ring?.current?.createdAt;
  if (created) signingKeyAge.set(Math.max(0, (Date.now() - Date.parse(created)) / 1000));
}

export async function refreshDataGauges(): Promise<void> {
  if (Date.now() - refreshed < CACHE_MS) return;
  refreshing ??= refresh().finally(() => {
    refreshed = Date.now();
    refreshing = undefined;
  });
  await refreshing;
}
