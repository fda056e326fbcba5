import {
  type CreateTableCommandInput,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition } from '#platform/tables';

/** The CreateTable request for one shared table definition (the CDK stack reads the same definition). */
export function createTableInput(def: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  const add = (a?: { name: string; type: 'S' | 'N' }) => a && attributes.set(a.name, a.type);
  add(def.partitionKey);
  add(def.sortKey);
  for (const index of def.indexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(def.partitionKey, def.sortKey),
    ...(def.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: def.indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
    ...(def.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream } } : {}),
  };
}

/** The names of the table's indexes, or undefined when there is no such table. */
async function existingIndexes(client: DynamoDBClient, name: string): Promise<string[] | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: name }));
    return (out.Table?.GlobalSecondaryIndexes ?? []).map((index) => String(index.IndexName));
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/**
 * Adds the indexes a kept table (`.local/` survives restarts) lacks, as a CDK deploy adds them in AWS: one at a
 * time, as DynamoDB allows.
 */
async function addMissingIndexes(client: DynamoDBClient, def: TableDefinition, name: string, have: string[]) {
  const input = createTableInput(def, name);
  for (const index of input.GlobalSecondaryIndexes ?? []) {
    if (have.includes(String(index.IndexName))) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: input.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
}

/** Turns on the stream a kept table lacks (a table that became audited), as a CDK deploy does in AWS. */
async function enableMissingStream(client: DynamoDBClient, def: TableDefinition, name: string) {
  if (!def.stream) return;
  const out = await client.send(new DescribeTableCommand({ TableName: name }));
  if (out.Table?.StreamSpecification?.StreamEnabled) return;
  await client.send(
    new UpdateTableCommand({
      TableName: name,
      StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream },
    }),
  );
}

/** Creates every missing table (with TTL where defined); existing tables only gain the indexes and stream they lack. */
export async function ensureTables(client: DynamoDBClient, prefix: string): Promise<string[]> {
  const created: string[] = [];
  for (const def of Object.values(TABLES) as TableDefinition[]) {
    const name = `${prefix}${def.name}`;
    const indexes = await existingIndexes(client, name);
    if (indexes) {
      await addMissingIndexes(client, def, name, indexes);
      await enableMissingStream(client, def, name);
      continue;
    }
    await client.send(new CreateTableCommand(createTableInput(def, name)));
    if (def.ttlAttribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: def.ttlAttribute },
        }),
      );
    }
    created.push(name);
  }
  return created;
}
