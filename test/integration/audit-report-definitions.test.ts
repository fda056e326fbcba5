import { randomUUID } from 'node:crypto';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastChangeOf } from '#audit/attribution';
import { verifyChain, type AuditRecord } from '#audit/record';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { ReportStore, type ReportDefinition } from '#reports/store';
import { auditRecordsOf, createTables, streamReader } from '#test/support/streams';

/**
 * Report definitions reach the audit trail the way charges and users do: from the reports table's stream, believed
 * only when the reports function's attribution MAC vouches for the change. A direct table write is out-of-band.
 */
const admin = { userId: randomUUID(), username: 'ada' };
const OUT_OF_BAND = { userId: 'out-of-band', username: 'out-of-band' };
let reader: ReturnType<typeof streamReader>;
const repo = () => new ReportStore();
const audit = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('audit-stream', event);

async function drain() {
  const response = await audit(await reader.next());
  expect(response.batchItemFailures).toEqual([]);
}

const change = (reason: string | null = null) =>
  lastChangeOf(admin, reason, { requestId: `req-${randomUUID()}` }, new Date().toISOString());

function definition(): ReportDefinition {
  const now = new Date().toISOString();
  return {
    definitionId: randomUUID(),
    name: 'weekly',
    title: 'Weekly',
    kind: 'charges',
    filters: { status: 'released' },
    columns: null,
    format: 'csv',
    lang: 'en',
    schedule: null,
    timezone: 'Europe/Berlin',
    recipients: [],
    version: 1,
    createdAt: now,
    createdBy: admin,
    updatedAt: now,
    updatedBy: admin,
  };
}

beforeAll(async () => {
  await createTables();
  reader = streamReader(['reports']);
});
afterAll(() => reader.stop());

describe('report definitions on the audit trail', () => {
  it('create, update and delete through the store are attributed; the tombstone removal adds nothing', async () => {
    const def = definition();
    expect(await repo().createDefinition(def, 1000, change())).toBe('created');
    const next = { ...def, title: 'Weekly, renamed', version: 2, updatedAt: new Date().toISOString() };
    expect(await repo().putDefinition(next, 1, change())).toBe(true);
    expect(await repo().deleteDefinition(next, change())).toBe(true);
    expect(await repo().getDefinition(def.definitionId)).toBeUndefined();
    await drain();

    const records = await auditRecordsOf('report-definition', def.definitionId);
    expect(records.map((r) => [r.action, r.version, (r.actor as { username: string }).username])).toEqual([
      ['create', 1, 'ada'],
      ['update', 2, 'ada'],
      ['delete', 3, 'ada'],
    ]);
    expect(records[1]?.changes).toEqual({ title: { from: 'Weekly', to: 'Weekly, renamed' } });
    expect(records[2]?.changes).toMatchObject({ title: { from: 'Weekly, renamed', to: null } });
    expect((records[2]?.changes as Record<string, { to: unknown }>).deletedAt?.to).toEqual(expect.any(String));
    for (const r of records) expect(r.requestId).toMatch(/^req-/);
    expect(verifyChain(records as unknown as AuditRecord[]).valid).toBe(true);
  });

  it("an insider's direct UpdateItem posing as an admin is recorded as out-of-band", async () => {
    const def = definition();
    await repo().createDefinition(def, 1000, change());
    await drain();
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('reports'),
        Key: { pk: `definition#${def.definitionId}`, sk: 'definition' },
        // Widen an audit report's recipients, bump the version and claim an admin did it: no valid MAC.
        UpdateExpression: 'SET recipients = :r, version = :v, updatedBy = :by, lastChange.reason = :why',
        ExpressionAttributeValues: {
          ':r': ['outside@example.org'],
          ':v': 2,
          ':by': admin,
          ':why': 'requested by QA',
        },
      }),
    );
    await drain();
    const records = await auditRecordsOf('report-definition', def.definitionId);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND, requestId: null, action: 'update', version: 2 });
    expect(records[1]?.reason).toMatch(/^Changed outside the API \(no valid attribution MAC\)/);
    expect(records[1]?.changes).toMatchObject({ recipients: { from: [], to: ['outside@example.org'] } });
  });

  it('a direct DeleteItem of a live definition is an out-of-band remove, never taken for an API delete', async () => {
    const def = definition();
    await repo().createDefinition(def, 1000, change());
    await drain();
    await documentDb().send(
      new DeleteCommand({
        TableName: tableName('reports'),
        Key: { pk: `definition#${def.definitionId}`, sk: 'definition' },
      }),
    );
    await drain();
    const records = await auditRecordsOf('report-definition', def.definitionId);
    expect(records.map((r) => r.action)).toEqual(['create', 'remove']);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND, reason: 'Changed outside the API (item removed)' });
  });

  it('a forged tombstone (deletedAt set directly) is out-of-band, and so is its removal', async () => {
    const def = definition();
    await repo().createDefinition(def, 1000, change());
    await drain();
    const key = { pk: `definition#${def.definitionId}`, sk: 'definition' };
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('reports'),
        Key: key,
        UpdateExpression: 'SET deletedAt = :at, version = :v',
        ExpressionAttributeValues: { ':at': new Date().toISOString(), ':v': 2 },
      }),
    );
    await documentDb().send(new DeleteCommand({ TableName: tableName('reports'), Key: key }));
    await drain();
    const records = await auditRecordsOf('report-definition', def.definitionId);
    expect(records.map((r) => [r.action, (r.actor as { userId: string }).userId])).toEqual([
      ['create', admin.userId],
      ['delete', 'out-of-band'],
      ['remove', 'out-of-band'],
    ]);
  });

  it('a definition without filters (an empty map in the stream image) is recorded, not poisoned', async () => {
    const def = { ...definition(), filters: {} };
    expect(await repo().createDefinition(def, 1000, change())).toBe('created');
    await drain();
    const records = await auditRecordsOf('report-definition', def.definitionId);
    expect(records.map((r) => r.action)).toEqual(['create']);
    expect(records[0]?.changes).toMatchObject({ filters: { from: null, to: {} } });
  });

  it('runs and the definition count are not audited', async () => {
    const def = definition();
    await repo().createDefinition(def, 1000, change());
    await drain();
    const records = await auditRecordsOf('report-definition', def.definitionId);
    expect(records).toHaveLength(1);
    const counted = await auditRecordsOf('report-definition', 'count');
    expect(counted).toHaveLength(0);
  });
});
