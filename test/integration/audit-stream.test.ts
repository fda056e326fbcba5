import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentDb } from '#platform/dynamo';
import { auditLag } from '#platform/observability/prometheus';
import { AuditStore } from '#audit/store';
import { verifyChain } from '#audit/record';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { callHandler, userWith } from '#test/support/events';
import { auditRecordsOf, createTables, scanAll, streamReader } from '#test/support/streams';
import { makeSigner, seedChargeAs, signatureFor } from '#test/support/charges';
import { UserStore } from '#users/store';

const operator = userWith(['operator'], 'olga');
const qm = userWith(['quality_manager'], 'quentin');
let reader: ReturnType<typeof streamReader>;

const audit = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('audit-stream', event);

const newCharge = async () =>
  (await seedChargeAs(operator, { articleId: 'A-1', quantity: 5, productionDate: '2026-02-01', status: 'quarantine' }))
    .chargeId;

const patchCharge = (id: string, version: number, body: Record<string, unknown>, user = operator) =>
  callHandler('charges', {
    method: 'PATCH',
    resource: '/charges/{id}',
    pathParameters: { id },
    user,
    headers: { 'If-Match': `"${version}"` },
    body,
  });

let qmPassword: string;

beforeAll(async () => {
  await createTables();
  // Before the reader starts: the signer's account is not part of what the tests read from the streams.
  qmPassword = await makeSigner(qm);
  reader = streamReader(['charges', 'users']);
});
afterAll(() => reader.stop());
afterEach(() => vi.restoreAllMocks());

describe('audit records from the charges stream', () => {
  it('one record per change, in order, with actor, reason, request id, version and field changes; snapshots ignored', async () => {
    const id = await newCharge();
    await patchCharge(id, 1, { quantity: 6, reason: 'recount' });
    await patchCharge(
      id,
      2,
      { status: 'released', reason: 'QC ok', signature: signatureFor('released', qmPassword) },
      qm,
    );
    const event = await reader.next();
    // Each write is two items (charge + version snapshot): six stream records of the charge, three audited changes.
    // (The lot number's claim and the year's lot counter are items of their own, which the audit trail skips.)
    expect(event.Records.filter((r) => r.dynamodb?.Keys?.chargeId?.S === id)).toHaveLength(6);
    expect(event.Records[0]).toMatchObject({
      eventSource: 'aws:dynamodb',
      eventName: 'INSERT',
      dynamodb: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });

    const response = await audit(event);
    expect(response.batchItemFailures).toEqual([]);
    const records = await auditRecordsOf('charge', id);
    expect(
      records.map((r) => [r.seq, r.action, r.version, (r.actor as { username: string }).username, r.reason]),
    ).toEqual([
      [1, 'create', 1, 'olga', null],
      [2, 'update', 2, 'olga', 'recount'],
      [3, 'update', 3, qm.username, 'QC ok'],
    ]);
    expect(records[0]!.changes).toMatchObject({
      quantity: { from: null, to: 5 },
      status: { from: null, to: 'quarantine' },
    });
    expect(records[1]!.changes).toEqual({ quantity: { from: 5, to: 6 } });
    expect(records[2]!.changes).toEqual({
      status: { from: 'quarantine', to: 'released' },
      signature: { from: null, to: expect.objectContaining({ meaning: 'approved_for_release' }) },
    });
    expect(records.every((r) => typeof r.requestId === 'string')).toBe(true);
    expect(verifyChain(await new AuditStore().chain('charge', id)).valid).toBe(true);
  });

  it('several entities in one batch are written side by side, each chain in stream order', async () => {
    const ids = [await newCharge(), await newCharge(), await newCharge()];
    // Interleaved: a1 b1 c1, then a2 b2 c2, then a3 b3 c3.
    for (const version of [1, 2]) {
      for (const id of ids) await patchCharge(id, version, { quantity: 10 + version, reason: `step ${version}` });
    }
    const event = await reader.next();
    const response = await audit(event);
    expect(response.batchItemFailures).toEqual([]);
    for (const id of ids) {
      const records = await auditRecordsOf('charge', id);
      expect(records.map((r) => [r.seq, r.version, r.reason])).toEqual([
        [1, 1, null],
        [2, 2, 'step 1'],
        [3, 3, 'step 2'],
      ]);
      expect(verifyChain(await new AuditStore().chain('charge', id)).valid).toBe(true);
    }
  });

  it("measures audit lag from the change's MAC'd write time: DynamoDB Local rounds the stream's time down to the minute", async () => {
    // Prepare: a real INSERT record, "now" pinned 1.234 s after its stamped write time, its stream time minute-rounded.
    const id = await newCharge();
    const insert = (await reader.next()).Records.find(
      (r) => r.eventName === 'INSERT' && r.dynamodb?.Keys?.sk?.S === 'CHARGE',
    );
    expect(insert, 'the charge INSERT record').toBeDefined();
    const record = structuredClone(insert as DynamoDBRecord);
    const stamp = record.dynamodb!.NewImage!.lastChange!.M as Record<string, { S: string }>;
    const writtenAt = Date.parse(stamp.at!.S);
    const now = writtenAt + 1234;
    record.dynamodb!.ApproximateCreationDateTime = Math.floor(writtenAt / 60_000) * 60;
    const observed = vi.spyOn(auditLag, 'observe');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(now);

    // Act
    let response: DynamoDBBatchResponse;
    try {
      response = await audit({ Records: [record] });
    } finally {
      vi.useRealTimers();
    }

    // Assess: 1.234 s, not the 42 s the minute-rounded stream time would give.
    expect(response.batchItemFailures).toEqual([]);
    expect(observed).toHaveBeenCalledWith(1.234);
    expect((await auditRecordsOf('charge', id))[0]?.at).toBe(new Date(writtenAt).toISOString());
  });

  it('delivering the same batch twice writes each change once', async () => {
    const id = await newCharge();
    await patchCharge(id, 1, { notes: 'n', reason: 'add a note' });
    const event = await reader.next();
    await audit(event);
    const second = await audit(event);
    expect(second.batchItemFailures).toEqual([]);
    expect(await auditRecordsOf('charge', id)).toHaveLength(2);
  });

  it('a soft delete is recorded as delete; an out-of-band edit is recorded and attributed to nobody', async () => {
    const id = await newCharge();
    await callHandler('charges', {
      method: 'DELETE',
      resource: '/charges/{id}',
      pathParameters: { id },
      user: qm,
      headers: { 'If-Match': '"1"' },
      body: { reason: 'entered twice' },
    });
    // Someone edits the item directly (console, script): same version, same updatedBy.
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('charges'),
        Key: { chargeId: id, sk: 'CHARGE' },
        UpdateExpression: 'SET quantity = :q',
        ExpressionAttributeValues: { ':q': 999 },
      }),
    );
    await audit(await reader.next());
    const records = await auditRecordsOf('charge', id);
    expect(records.map((r) => r.action)).toEqual(['create', 'delete', 'update']);
    expect(records[1]).toMatchObject({ reason: 'entered twice', actor: { username: qm.username } });
    expect(records[2]).toMatchObject({
      actor: { userId: 'out-of-band' },
      reason: 'Changed outside the API (no valid attribution MAC)',
      changes: { quantity: { from: 5, to: 999 } },
    });
  });
});

describe('failures', () => {
  it('an audit write failing mid-batch is reported, retried from there, and nothing is lost or duplicated', async () => {
    const a = await newCharge();
    await patchCharge(a, 1, { quantity: 7, reason: 'first fix' });
    await patchCharge(a, 2, { quantity: 8, reason: 'second fix' });
    const b = await newCharge();
    const event = await reader.next();

    // The second audited write (charge a, version 2) hits a DynamoDB outage once.
    const db = documentDb();
    const send = db.send.bind(db);
    let failed = false;
    // Charge a's version 2, wherever its shard puts it in the batch (charges also carry lot claims and counters).
    const isAv2 = (command: { input?: { TransactItems?: Array<{ Put?: { Item?: Record<string, unknown> } }> } }) =>
      (command.input?.TransactItems ?? []).some(
        (t) => t.Put?.Item?.entityKey === `charge#${a}` && t.Put.Item.version === 2,
      );
    vi.spyOn(db, 'send').mockImplementation(((command: { constructor: { name: string } }, ...rest: unknown[]) => {
      if (command.constructor.name === 'TransactWriteCommand' && !failed && isAv2(command as never)) {
        failed = true;
        return Promise.reject(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
      }
      return (send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
    }) as typeof db.send);
    const first = await audit(event);
    vi.restoreAllMocks();

    // By key and version, not by position in the batch, which the stream's shards decide.
    const seqOfA = (version: number) =>
      event.Records.find(
        (r) =>
          r.dynamodb?.Keys?.sk?.S === 'CHARGE' &&
          r.dynamodb.Keys.chargeId?.S === a &&
          r.dynamodb.NewImage?.version?.N === String(version),
      )?.dynamodb?.SequenceNumber;
    const seqOf = (r: DynamoDBRecord) => r.dynamodb?.SequenceNumber;
    // a v2 failed, and a v3 after it failed too (its chain must not skip v2); b succeeded.
    expect(first.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([seqOfA(2), seqOfA(3)]);
    expect(seqOfA(2)).toBeDefined();
    expect(await auditRecordsOf('charge', a)).toHaveLength(1);
    expect(await auditRecordsOf('charge', b)).toHaveLength(1);

    // Lambda retries from the first failed record: everything after it is delivered again.
    const firstFailed = event.Records.findIndex((r) => seqOf(r) === first.batchItemFailures[0]!.itemIdentifier);
    const retry = await audit({ Records: event.Records.slice(firstFailed) });
    expect(retry.batchItemFailures).toEqual([]);
    const records = await auditRecordsOf('charge', a);
    expect(records.map((r) => r.version)).toEqual([1, 2, 3]);
    expect(await auditRecordsOf('charge', b)).toHaveLength(1);
    expect(verifyChain(await new AuditStore().chain('charge', a)).valid).toBe(true);
  });

  it('a poisoned record is a batch item failure (→ bisect, retries, on-failure queue); the rest of the batch is written', async () => {
    const id = await newCharge();
    const event = await reader.next();
    const good = event.Records.find((r) => r.dynamodb?.Keys?.sk?.S === 'CHARGE')!;
    const otherKeys = { chargeId: { S: 'some-other-charge' }, sk: { S: 'CHARGE' } };
    const poisoned: DynamoDBRecord = {
      ...good,
      eventID: 'poison-1',
      eventName: 'MODIFY',
      dynamodb: { ...good.dynamodb, Keys: otherKeys, SequenceNumber: '999999999999', OldImage: undefined },
    };
    const foreign: DynamoDBRecord = {
      ...good,
      eventID: 'bad-source',
      eventSourceARN: 'arn:aws:dynamodb:x:1:table/elsewhere/stream/1',
      dynamodb: {
        ...good.dynamodb,
        Keys: { chargeId: { S: 'third-charge' }, sk: { S: 'CHARGE' } },
        SequenceNumber: '999999999998',
      },
    };
    const response = await audit({ Records: [poisoned, foreign, ...event.Records] });
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: '999999999999' },
      { itemIdentifier: '999999999998' },
    ]);
    expect(await auditRecordsOf('charge', id)).toHaveLength(1);
  });

  it("a poisoned record holds back the later records of its own entity, so that entity's chain stays in order", async () => {
    const id = await newCharge();
    const event = await reader.next();
    const insert = event.Records.find((r) => r.dynamodb?.Keys?.sk?.S === 'CHARGE')!;
    const poisoned: DynamoDBRecord = {
      ...insert,
      eventID: 'poison-2',
      eventName: 'MODIFY',
      dynamodb: { ...insert.dynamodb, SequenceNumber: '1', OldImage: undefined },
    };
    const response = await audit({ Records: [poisoned, ...event.Records] });
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: '1' },
      { itemIdentifier: insert.dynamodb!.SequenceNumber },
    ]);
    expect(await auditRecordsOf('charge', id)).toHaveLength(0);
  });
});

describe('audit records from the users stream', () => {
  it('role change and disable are audited with the acting admin; claim items are ignored; no password hash anywhere', async () => {
    const admin = { userId: 'admin-1', username: 'admin' };
    const passwordHash = 'scrypt$16384$8$1$c2FsdA$VERYSECRETHASH';
    const store = new UserStore();
    const { userId } = await store.create(
      { username: 'ursula', roles: ['viewer'], passwordHash },
      { actor: admin, requestId: 'req-1' },
    );
    await store.update(
      userId,
      { roles: ['operator', 'viewer'], passwordHash: `${passwordHash}2` },
      { actor: admin, requestId: 'req-2', reason: 'joined the line team' },
    );
    await store.update(userId, { disabled: true }, { actor: admin, requestId: 'req-3' });
    const response = await audit(await reader.next());
    expect(response.batchItemFailures).toEqual([]);

    const records = await auditRecordsOf('user', userId);
    expect(records.map((r) => [r.action, r.requestId])).toEqual([
      ['create', 'req-1'],
      // Named for what changed: a roles change wins over the password hash changing in the same write.
      ['role.change', 'req-2'],
      ['user.disable', 'req-3'],
    ]);
    expect(records[1]!.changes).toEqual({
      roles: { from: ['viewer'], to: ['operator', 'viewer'] },
      passwordHash: { from: '[REDACTED]', to: '[REDACTED]' },
    });
    expect(records[1]).toMatchObject({ reason: 'joined the line team', actor: admin });
    expect(records[2]!.changes).toEqual({ disabled: { from: false, to: true } });
    expect((await scanAll('audit')).some((i) => String(i.entityKey).includes('username'))).toBe(false);

    // The scan: no audit item anywhere holds a password hash (or any part of one).
    const everything = JSON.stringify(await scanAll('audit'));
    expect(everything).not.toContain('VERYSECRETHASH');
    expect(everything).not.toMatch(/scrypt\$/);
  });
});
