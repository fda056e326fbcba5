import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EPOCH, AuditStore, walkedMonths } from '#audit/store';
import { appendAuditRecord } from '#audit/audit-log';
import { documentDb } from '#platform/dynamo';
import { findRoute } from '#platform/routes';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { callHandler, userWith } from '#test/support/events';
import { auditRecordsOf, createTables, streamReader } from '#test/support/streams';
import { makeSigner, seedChargeAs, signatureFor } from '#test/support/charges';

const startedAt = new Date(Date.now() - 60_000).toISOString();
const operator = userWith(['operator'], 'olga');
const qm = userWith(['quality_manager'], 'quentin');
const auditor = userWith(['auditor'], 'audrey');
let reader: ReturnType<typeof streamReader>;
let chargeId: string;

// Search and export are the audit function's, verification the audit-verify function's (ROUTES).
const get = (resource: string, query: Record<string, string>, user = auditor) =>
  callHandler(findRoute('GET', resource)!.function, { resource, query, user });

beforeAll(async () => {
  await createTables();
  const qmPassword = await makeSigner(qm);
  reader = streamReader(['charges']);
  ({ chargeId } = await seedChargeAs(operator, {
    articleId: 'AR-1',
    unit: 'l',
    productionDate: '2026-04-01',
    status: 'quarantine',
  }));
  for (const [version, body, user] of [
    [1, { quantity: 2, reason: 'recount' }, operator],
    [2, { status: 'released', reason: 'QC ok', signature: signatureFor('released', qmPassword) }, qm],
    [3, { status: 'blocked', reason: 'complaint', signature: signatureFor('blocked', qmPassword) }, qm],
  ] as const) {
    await callHandler('charges', {
      method: 'PATCH',
      resource: '/charges/{id}',
      pathParameters: { id: chargeId },
      user,
      headers: { 'If-Match': `"${version}"` },
      body,
    });
  }
  await invoke<DynamoDBBatchResponse>('audit-stream', await reader.next());
});
afterAll(() => reader.stop());

describe('GET /audit', () => {
  it('by entity: every change in chain order', async () => {
    const res = await get('/audit', { entityType: 'charge', entityId: chargeId });
    expect(res.status).toBe(200);
    expect(res.json.items.map((r: { seq: number; action: string }) => [r.seq, r.action])).toEqual([
      [1, 'create'],
      [2, 'update'],
      [3, 'update'],
      [4, 'update'],
    ]);
    expect(res.json.items[0]).not.toHaveProperty('entityKey');
    expect(res.json.items[0]).toHaveProperty('hash');
  });

  it('by actor (byActor index), filtered by action', async () => {
    const res = await get('/audit', { actor: qm.userId });
    expect(res.json.items.map((r: { reason: string }) => r.reason)).toEqual(['QC ok', 'complaint']);
    const creates = await get('/audit', { actor: operator.userId, action: 'create' });
    expect(creates.json.items).toHaveLength(1);
  });

  it('by time (byMonth index) with entity type and pagination', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await get('/audit', { entityType: 'charge', from, limit: '3', ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      seen.push(...res.json.items.map((r: { auditId: string }) => r.auditId));
      cursor = res.json.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(4);
    const future = await get('/audit', { from: '2099-01-01' });
    expect(future.json.items).toEqual([]);
  });

  it.each([
    [{ entityId: 'x' }, 422],
    [{ limit: '1000' }, 422],
    [{ from: 'last tuesday' }, 422],
    [{ cursor: 'nope' }, 400],
    [{ user: 'x' }, 400],
  ])('rejects %j with %s', async (query, status) => {
    expect((await get('/audit', query as Record<string, string>)).status).toBe(status);
  });

  it('needs audit:read: an operator gets 403', async () => {
    const res = await get('/audit', { entityType: 'charge', entityId: chargeId }, operator);
    expect(res.status).toBe(403);
  });
});

describe('GET /audit/verify', () => {
  it('an intact chain is valid', async () => {
    const res = await get('/audit/verify', { entityType: 'charge', entityId: chargeId });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ entityType: 'charge', entityId: chargeId, valid: true, records: 4 });
  });

  it('an unknown entity is 404; missing parameters are 422', async () => {
    expect((await get('/audit/verify', { entityType: 'charge', entityId: 'nope' })).status).toBe(404);
    expect((await get('/audit/verify', { entityType: 'charge' })).status).toBe(422);
  });

  it('a record changed directly in DynamoDB is reported as the first broken link', async () => {
    const result = await appendAuditRecord({
      entityType: 'charge',
      entityId: 'tamper-me',
      action: 'create',
      actor: operator,
    });
    for (const reason of ['one', 'two', 'three']) {
      await appendAuditRecord({
        entityType: 'charge',
        entityId: 'tamper-me',
        action: 'update',
        actor: operator,
        reason,
      });
    }
    expect(result.status).toBe('appended');
    const [, second] = await auditRecordsOf('charge', 'tamper-me');
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('audit'),
        Key: { entityKey: 'charge#tamper-me', seq: 2 },
        UpdateExpression: 'SET reason = :r',
        ExpressionAttributeValues: { ':r': 'a nicer reason' },
      }),
    );
    const res = await get('/audit/verify', { entityType: 'charge', entityId: 'tamper-me' });
    expect(res.json).toMatchObject({
      valid: false,
      records: 4,
      brokenAt: { seq: 2, auditId: second!.auditId, problem: 'hash_mismatch' },
    });
  });
});

describe("time queries walk only the system's lifetime", () => {
  /** The table's client, counting the Queries it sends. */
  function counted() {
    const db = documentDb();
    const counter = { queries: 0 };
    const client = {
      send: (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
        counter.queries += 1;
        return db.send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    return { audit: new AuditStore(client), counter };
  }

  async function all(audit: AuditStore, from: string, to: string) {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await audit.search({ from, to, limit: 100, cursor });
      ids.push(...page.items.map((r) => r.auditId));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor && pages < 50);
    return { ids, pages, done: cursor === undefined };
  }

  it('from=0001-01-01&to=9999-12-31 costs one Query per month since the epoch, and finds what the narrow range finds', async () => {
    const narrow = counted();
    const expected = await all(narrow.audit, startedAt, new Date(Date.now() + 60_000).toISOString());
    expect(expected.ids.length).toBeGreaterThan(0);

    const huge = counted();
    const result = await all(huge.audit, '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z');
    expect(result.done).toBe(true);
    expect(result.ids).toEqual(expected.ids);
    const lifetime = walkedMonths(AUDIT_EPOCH, '9999-12-31', new Date()).length;
    // Every month once, plus at most one more Query per page for a month read across two pages.
    expect(huge.counter.queries).toBeLessThanOrEqual(lifetime + result.pages);
    expect(lifetime).toBeLessThan(12 * 15);
  });

  it("a range outside the system's lifetime sends no Query at all", async () => {
    const { audit, counter } = counted();
    expect(await audit.search({ from: '0001-01-01T00:00:00.000Z', to: '2024-12-31T23:59:59.999Z', limit: 25 })).toEqual(
      { items: [], nextCursor: null },
    );
    expect(await audit.search({ from: '2999-01-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z', limit: 25 })).toEqual(
      { items: [], nextCursor: null },
    );
    expect(counter.queries).toBe(0);
  });

  it('a `from` in the future without a `to` (= now) is an empty answer, not a 500, for every strategy', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const queries: Record<string, string>[] = [
      { from: tomorrow },
      { from: tomorrow, actor: operator.userId },
      { from: tomorrow, entityType: 'charge', entityId: 'x' },
    ];
    for (const query of queries) {
      const res = await get('/audit', query);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toEqual({ items: [], nextCursor: null });
    }
  });

  it('GET /audit?from=2000-01-01&limit=5: the first page has records (empty months are walked past)', async () => {
    const res = await get('/audit', { from: '2000-01-01', limit: '5' });
    expect(res.status).toBe(200);
    expect(res.json.items).toHaveLength(5);
    const huge = await get('/audit', { from: '0001-01-01', to: '9999-12-31', limit: '5' });
    expect(huge.status).toBe(200);
    expect(huge.json.items.map((r: { auditId: string }) => r.auditId)).toEqual(
      res.json.items.map((r: { auditId: string }) => r.auditId),
    );
  });
});
