import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { versionSk } from '#charges/model';
import { UserStore } from '#users/store';
import { callHandler, userWith } from '#test/support/events';
import { auditRecordsOf, createTables, streamReader } from '#test/support/streams';
import { seedChargeAs } from '#test/support/charges';

/**
 * Someone with write access to the tables (but not to the attribution key) writes around the API. Each write
 * must reach the audit trail attributed to nobody, at the time the stream saw it — whatever the item claims.
 */
const operator = userWith(['operator'], 'olga');
const qm = userWith(['quality_manager'], 'quentin');
let reader: ReturnType<typeof streamReader>;

const audit = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('audit-stream', event);
const charges = () => tableName('charges');

async function quarantinedCharge() {
  const { chargeId } = await seedChargeAs(operator, {
    articleId: 'A-9',
    quantity: 5,
    productionDate: '2026-02-01',
    status: 'quarantine',
  });
  return chargeId;
}

/** Runs the stream through the audit function; answers the window in which the stream saw the writes. */
async function drain() {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const response = await audit(await reader.next());
  expect(response.batchItemFailures).toEqual([]);
  return { from: before, to: Date.now() };
}

const OUT_OF_BAND = { userId: 'out-of-band', username: 'out-of-band' };

beforeAll(async () => {
  await createTables();
  reader = streamReader(['charges', 'users']);
});
afterAll(() => reader.stop());

describe('an insider writing the tables directly', () => {
  it('releases a quarantined charge posing as a QA manager with a reason: recorded as out-of-band, at the stream time', async () => {
    const id = await quarantinedCharge();
    await drain();
    await documentDb().send(
      new UpdateCommand({
        TableName: charges(),
        Key: { chargeId: id, sk: 'CHARGE' },
        UpdateExpression: 'SET #s = :s, version = :v, updatedBy = :by, reason = :r, updatedAt = :at',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':s': 'released',
          ':v': 2,
          ':by': { userId: qm.userId, username: qm.username },
          ':r': 'QC certificate 2026-117 attached',
          ':at': '2025-01-02T08:00:00.000Z',
        },
      }),
    );
    const window = await drain();
    const records = await auditRecordsOf('charge', id);
    expect(records).toHaveLength(2);
    const forged = records[1]!;
    expect(forged).toMatchObject({ actor: OUT_OF_BAND, requestId: null, version: 2 });
    expect(forged.reason).toMatch(/^Changed outside the API/);
    expect(forged.changes).toMatchObject({ status: { from: 'quarantine', to: 'released' } });
    // Filed under when the stream saw it, not the January 2025 the item claims.
    const at = Date.parse(forged.at as string);
    expect(at).toBeGreaterThanOrEqual(window.from);
    expect(at).toBeLessThanOrEqual(window.to);
    expect(forged.month).not.toBe('2025-01');
  });

  it('copies the previous valid stamp onto a changed item: the MAC no longer matches, out-of-band', async () => {
    const id = await quarantinedCharge();
    await drain();
    // Even with `version = version + 1` and the API's own previous stamp left in place.
    await documentDb().send(
      new UpdateCommand({
        TableName: charges(),
        Key: { chargeId: id, sk: 'CHARGE' },
        UpdateExpression: 'SET quantity = :q, version = version + :one',
        ExpressionAttributeValues: { ':q': 50, ':one': 1 },
      }),
    );
    await drain();
    const records = await auditRecordsOf('charge', id);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND, changes: { quantity: { from: 5, to: 50 } } });
  });

  it('restores an older, validly stamped version of the item (a replay): out-of-band', async () => {
    const id = await quarantinedCharge();
    const patched = await callHandler('charges', {
      method: 'PATCH',
      resource: '/charges/{id}',
      pathParameters: { id },
      user: operator,
      headers: { 'If-Match': '"1"' },
      body: { quantity: 4, reason: 'recount' },
    });
    expect(patched.status).toBe(200);
    await drain();
    const v1 = await documentDb().send(
      new GetCommand({ TableName: charges(), Key: { chargeId: id, sk: versionSk(1) } }),
    );
    await documentDb().send(new PutCommand({ TableName: charges(), Item: { ...v1.Item, sk: 'CHARGE' } }));
    await drain();
    const records = await auditRecordsOf('charge', id);
    expect(records.map((r) => (r.actor as { userId: string }).userId)).toEqual([
      operator.userId,
      operator.userId,
      'out-of-band',
    ]);
    expect(records[2]!.reason).toMatch(/version 1 does not follow/);
  });

  it('removes the snapshot of the version an API write made: the change is flagged', async () => {
    const id = await quarantinedCharge();
    await drain();
    await callHandler('charges', {
      method: 'PATCH',
      resource: '/charges/{id}',
      pathParameters: { id },
      user: operator,
      headers: { 'If-Match': '"1"' },
      body: { quantity: 6, reason: 'recount' },
    });
    await documentDb().send(new DeleteCommand({ TableName: charges(), Key: { chargeId: id, sk: versionSk(2) } }));
    await drain();
    const records = await auditRecordsOf('charge', id);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND });
    expect(records[1]!.reason).toMatch(/version 2 has no snapshot/);
  });

  it('grants a user admin with `version = version + 1`: a role.change by out-of-band, not by an admin', async () => {
    const admin = { userId: 'admin-7', username: 'admin' };
    const { userId } = await new UserStore().create(
      { username: 'mallory', roles: ['viewer'] },
      { actor: admin, requestId: 'req-create' },
    );
    await drain();
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('users'),
        Key: { pk: `user#${userId}` },
        UpdateExpression: 'SET #roles = :r, version = version + :one, updatedBy = :by, updatedByName = :name',
        ExpressionAttributeNames: { '#roles': 'roles' },
        ExpressionAttributeValues: { ':r': ['admin'], ':one': 1, ':by': admin.userId, ':name': admin.username },
      }),
    );
    await drain();
    const records = await auditRecordsOf('user', userId);
    expect(records.map((r) => [r.action, (r.actor as { userId: string }).userId])).toEqual([
      ['create', admin.userId],
      ['role.change', 'out-of-band'],
    ]);
  });
});

describe('request ids', () => {
  it("a caller's X-Request-ID is kept as correlationId; the record's requestId is the server's", async () => {
    const id = await quarantinedCharge();
    await drain();
    const claimed = 'INC-4711-approved-by-QP';
    for (const [version, quantity] of [
      [1, 7],
      [2, 8],
    ] as const) {
      const res = await callHandler('charges', {
        method: 'PATCH',
        resource: '/charges/{id}',
        pathParameters: { id },
        user: operator,
        headers: { 'If-Match': `"${version}"`, 'X-Request-ID': claimed },
        body: { quantity, reason: 'recount' },
      });
      expect(res.status).toBe(200);
    }
    await drain();
    const records = await auditRecordsOf('charge', id);
    const changes = records.slice(1);
    expect(changes).toHaveLength(2);
    for (const record of changes) {
      expect(record.correlationId).toBe(claimed);
      expect(record.requestId).not.toBe(claimed);
      expect(record.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(changes[0]!.requestId).not.toBe(changes[1]!.requestId);
  });
});
