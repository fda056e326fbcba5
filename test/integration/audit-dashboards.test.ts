import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain, type AuditRecord } from '#audit/record';
import { documentDb } from '#platform/dynamo';
import type { AuthenticatedUser } from '#platform/auth-context';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { DashboardService, DashboardStore, QA_OVERVIEW_ID } from '#analytics/dashboards';
import { auditRecordsOf, createTables, scanAll, streamReader } from '#test/support/streams';

/**
 * Dashboards reach the audit trail the way report definitions do: from the analytics table's stream, believed only
 * when the analytics function's attribution MAC vouches for the change. A direct table write is out-of-band.
 */
const ada: AuthenticatedUser = {
  userId: randomUUID(),
  username: 'ada',
  roles: ['admin'],
  permissions: ['charges:read', 'reports:manage'],
};
const OUT_OF_BAND = { userId: 'out-of-band', username: 'out-of-band' };
let reader: ReturnType<typeof streamReader>;
const service = () => new DashboardService(new DashboardStore());
const meta = () => ({ requestId: `req-${randomUUID()}`, sourceIp: '127.0.0.1' });
const audit = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('audit-stream', event);

async function drain() {
  const response = await audit(await reader.next());
  expect(response.batchItemFailures).toEqual([]);
}

const key = (id: string) => ({ pk: 'DASH', sk: id });

beforeAll(async () => {
  await createTables();
  reader = streamReader(['dashboards']);
});
afterAll(() => reader.stop());

describe('dashboards on the audit trail', () => {
  it('create, replace and delete are each recorded once, attributed, from the stream; the tombstone removal adds nothing', async () => {
    const d = await service().create({ title: 'Mine', shared: false, widgets: [] }, ada, meta());
    const next = await service().replace(d.id, { title: 'Renamed', widgets: [] }, '"1"', ada, meta());
    await service().delete(d.id, `"${next.version}"`, ada, meta());
    await drain();

    const records = await auditRecordsOf('dashboard', d.id);
    expect(records.map((r) => [r.action, r.version, (r.actor as { username: string }).username])).toEqual([
      ['create', 1, 'ada'],
      ['update', 2, 'ada'],
      ['delete', 3, 'ada'],
    ]);
    expect(records[0]?.changes).toMatchObject({ title: { from: null, to: 'Mine' }, shared: { from: null, to: false } });
    expect(records[1]?.changes).toEqual({ title: { from: 'Mine', to: 'Renamed' } });
    expect(records[2]?.changes).toMatchObject({ title: { from: 'Renamed', to: null } });
    for (const r of records) expect(r.requestId).toMatch(/^req-/);
    expect(verifyChain(records as unknown as AuditRecord[]).valid).toBe(true);
    // Gone for readers and from the table.
    const { Item } = await documentDb().send(new GetCommand({ TableName: tableName('dashboards'), Key: key(d.id) }));
    expect(Item).toBeUndefined();
  });

  it('the shipped dashboard is recorded as created by system', async () => {
    await service().seed();
    await drain();
    const records = await auditRecordsOf('dashboard', QA_OVERVIEW_ID);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: 'create', actor: { userId: 'system', username: 'system' } });
  });

  it("an insider's direct UpdateItem posing as the owner is recorded as out-of-band", async () => {
    const d = await service().create({ title: 'Shared QA', shared: true, widgets: [] }, ada, meta());
    await drain();
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('dashboards'),
        Key: key(d.id),
        UpdateExpression: 'SET title = :t, version = :v, updatedBy = :by',
        ExpressionAttributeValues: { ':t': 'Hijacked', ':v': 2, ':by': { userId: ada.userId, username: 'ada' } },
      }),
    );
    await drain();
    const records = await auditRecordsOf('dashboard', d.id);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND, requestId: null, action: 'update', version: 2 });
    expect(records[1]?.reason).toMatch(/^Changed outside the API \(no valid attribution MAC\)/);
    expect(records[1]?.changes).toEqual({ title: { from: 'Shared QA', to: 'Hijacked' } });
  });

  it('a direct DeleteItem of a live dashboard is an out-of-band remove', async () => {
    const d = await service().create({ title: 'Doomed', shared: false, widgets: [] }, ada, meta());
    await drain();
    await documentDb().send(new DeleteCommand({ TableName: tableName('dashboards'), Key: key(d.id) }));
    await drain();
    const records = await auditRecordsOf('dashboard', d.id);
    expect(records.map((r) => r.action)).toEqual(['create', 'remove']);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND, reason: 'Changed outside the API (item removed)' });
  });

  it('aggregates and markers of the analytics table are not audited', async () => {
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('dashboards'),
        Key: { pk: 'AGG#2026-05', sk: '2026-05-01#x' },
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'count' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    await drain();
    const audited = (await scanAll('audit')).filter(
      (r) => typeof r.entityKey === 'string' && !String(r.entityKey).startsWith('event#'),
    );
    expect(audited.every((r) => String(r.entityKey).startsWith('dashboard#'))).toBe(true);
  });
});
