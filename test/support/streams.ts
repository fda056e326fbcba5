import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentDb } from '#platform/dynamo';
import { tableName, type TableId } from '#platform/tables';
import { ensureTables } from '#local/tables';
import { StreamPoller } from '#local/stream-poller';

/** Creates this test file's tables (its own TABLE_PREFIX) in the run's DynamoDB Local. */
export async function createTables(): Promise<void> {
  const admin = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
  await ensureTables(admin, process.env.TABLE_PREFIX ?? '');
  admin.destroy();
}

/**
 * Every record the tables' streams hold that this reader has not seen yet, in the exact shape Lambda
 * delivers (read through DynamoDB Local's Streams API by the local poller, which only collects here).
 */
export function streamReader(tables: TableId[]) {
  const collected: DynamoDBRecord[] = [];
  const poller = new StreamPoller({
    endpoint: process.env.DYNAMODB_ENDPOINT as string,
    tables: tables.map((t) => tableName(t)),
    stateDir: mkdtempSync(join(tmpdir(), 'stream-reader-')),
    log: () => undefined,
    deliver: async (event) => {
      collected.push(...event.Records);
      return { batchItemFailures: [] };
    },
  });
  return {
    /** Reads until a pass finds nothing new, and returns what was new as one Lambda event. */
    async next(): Promise<DynamoDBStreamEvent> {
      collected.length = 0;
      for (let idle = 0; idle < 2;) idle = (await poller.pollOnce()) === 0 ? idle + 1 : 0;
      return { Records: [...collected] };
    },
    stop: () => poller.stop(),
  };
}

/** All items of one of this file's tables (tests only; the application scans only once per users table, to start the enabled-admin count). */
export async function scanAll(table: TableId): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentDb().send(new ScanCommand({ TableName: tableName(table), ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The audit records (markers excluded) of one entity, in chain order. */
export async function auditRecordsOf(entityType: string, entityId: string) {
  const items = await scanAll('audit');
  return items.filter((i) => i.entityKey === `${entityType}#${entityId}`).sort((a, b) => Number(a.seq) - Number(b.seq));
}
