import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES, type TableDefinition } from '#platform/tables';
import { createTableInput, ensureTables } from '#local/tables';
import { expectError } from '#test/support/assertions';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

const prefix = process.env.TABLE_PREFIX as string;
const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(async () => {
  await api.stop();
  client.destroy();
});

describe.each(Object.values(TABLES) as TableDefinition[])('table $name in DynamoDB Local', (def) => {
  it('has the keys, indexes, stream and TTL of the shared definition', async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: `${prefix}${def.name}` }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
      ...(def.sortKey ? [{ AttributeName: def.sortKey.name, KeyType: 'RANGE' }] : []),
    ]);
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => ({
      name: i.IndexName,
      keys: i.KeySchema?.map((k) => k.AttributeName),
      projection: i.Projection?.ProjectionType,
    }));
    expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual(
      def.indexes
        .map((i) => ({
          name: i.indexName,
          keys: [i.partitionKey.name, ...(i.sortKey ? [i.sortKey.name] : [])],
          projection: 'ALL',
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
    if (def.stream) {
      expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: def.stream });
      expect(Table?.LatestStreamArn).toBeTruthy();
    } else {
      expect(Table?.StreamSpecification?.StreamEnabled ?? false).toBe(false);
    }
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: `${prefix}${def.name}` }));
    if (def.ttlAttribute) {
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: def.ttlAttribute, TimeToLiveStatus: 'ENABLED' });
    } else {
      expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
    }
  });
});

describe('readiness', () => {
  it('turns 503 naming the missing table, and recovers once the table is back', async () => {
    await client.send(new DeleteTableCommand({ TableName: `${prefix}reports` }));
    const res = await api.request('/status/health/readiness');
    const error = expectError(res, 503, 'UNAVAILABLE');
    const failing = (error.details as { checks: Record<string, { status: string; error: string }> }).checks;
    expect(Object.keys(failing)).toEqual(['table:reports']);
    expect(failing['table:reports']?.status).toBe('unhealthy');

    await ensureTables(client, prefix);
    expect((await api.request('/status/health/readiness')).status).toBe(200);
  });
});

describe('a kept table from before an index existed', () => {
  it('gains the indexes it lacks on the next start, as a deploy adds them in AWS', async () => {
    const older = `${prefix}older-`;
    const def = TABLES['auth-state'] as TableDefinition;
    await client.send(new CreateTableCommand(createTableInput({ ...def, indexes: [] }, `${older}${def.name}`)));

    await ensureTables(client, older);

    const { Table } = await client.send(new DescribeTableCommand({ TableName: `${older}${def.name}` }));
    expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName)).toEqual(def.indexes.map((i) => i.indexName));
    for (const other of Object.values(TABLES) as TableDefinition[]) {
      await client.send(new DeleteTableCommand({ TableName: `${older}${other.name}` }));
    }
  });
});
