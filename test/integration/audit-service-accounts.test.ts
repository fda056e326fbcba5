import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain, type AuditRecord } from '#audit/record';
import { documentDb } from '#platform/dynamo';
import type { AuthenticatedUser } from '#platform/auth-context';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { hashSecret, ServiceAccountService } from '#service-accounts/service';
import { ServiceAccountStore } from '#service-accounts/store';
import { auditRecordsOf, createTables, scanAll, streamReader } from '#test/support/streams';

/**
 * Service accounts reach the audit trail from the users table's stream, believed only when the service-accounts
 * function's attribution MAC vouches for the change; a direct table write is out-of-band. No client secret and no
 * hash of one ever reaches the audit table.
 */
const ada: AuthenticatedUser = {
  userId: randomUUID(),
  username: 'ada',
  roles: ['admin'],
  permissions: ['users:manage'],
};
const OUT_OF_BAND = { userId: 'out-of-band', username: 'out-of-band' };
let reader: ReturnType<typeof streamReader>;
const service = () => new ServiceAccountService(new ServiceAccountStore());
const meta = () => ({ requestId: `req-${randomUUID()}`, sourceIp: '127.0.0.1' });
const audit = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('audit-stream', event);

async function drain() {
  const response = await audit(await reader.next());
  expect(response.batchItemFailures).toEqual([]);
}

beforeAll(async () => {
  await createTables();
  reader = streamReader(['users']);
});
afterAll(() => reader.stop());

describe('service accounts on the audit trail', () => {
  it('create, secret rotation and delete are each recorded once with actor and reason, from the stream', async () => {
    const made = await service().create(
      { name: 'erp-sync', permissions: ['charges:read'], reason: 'ERP integration' },
      ada,
      meta(),
    );
    const id = made.serviceAccountId;
    const rotated = await service().rotateSecret(id, 'Secret leaked in a ticket', ada, meta());
    await service().delete(id, 'ERP retired', ada, meta());
    await drain();

    const records = await auditRecordsOf('service-account', id);
    expect(records.map((r) => [r.action, r.version, (r.actor as { username: string }).username, r.reason])).toEqual([
      ['service-account.create', 1, 'ada', 'ERP integration'],
      ['service-account.secret-rotate', 2, 'ada', 'Secret leaked in a ticket'],
      ['service-account.delete', 3, 'ada', 'ERP retired'],
    ]);
    expect(records[0]?.changes).toMatchObject({
      name: { from: null, to: 'erp-sync' },
      permissions: { from: null, to: ['charges:read'] },
    });
    expect(records[2]?.changes).toMatchObject({ deletedAt: { from: null, to: expect.any(String) } });
    for (const r of records) expect(r.requestId).toMatch(/^req-/);
    expect(verifyChain(records as unknown as AuditRecord[]).valid).toBe(true);

    // Neither secret nor its hash, anywhere in the audit table (records and markers alike).
    const everything = JSON.stringify(await scanAll('audit'));
    for (const secret of [made.clientSecret, rotated.clientSecret]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(hashSecret(secret));
    }
    expect(records[1]?.changes).toMatchObject({ secretHash: { from: '[REDACTED]', to: '[REDACTED]' } });
  });

  it("an insider's direct UpdateItem widening the permissions is recorded as out-of-band", async () => {
    const made = await service().create({ name: 'reader', permissions: ['charges:read'], reason: 'BI' }, ada, meta());
    await drain();
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('users'),
        Key: { pk: `service-account#${made.serviceAccountId}` },
        UpdateExpression: 'SET #p = :p, version = :v',
        ExpressionAttributeNames: { '#p': 'permissions' },
        ExpressionAttributeValues: { ':p': ['charges:read', 'reports:read'], ':v': 2 },
      }),
    );
    await drain();
    const records = await auditRecordsOf('service-account', made.serviceAccountId);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({ actor: OUT_OF_BAND, requestId: null, version: 2 });
    expect(records[1]?.reason).toMatch(/^Changed outside the API \(no valid attribution MAC\)/);
    expect(records[1]?.changes).toEqual({
      permissions: { from: ['charges:read'], to: ['charges:read', 'reports:read'] },
    });
  });

  it('the account still answers tokens only with its current secret after rotation (stored item intact)', async () => {
    const made = await service().create({ name: 'rotator', permissions: ['charges:read'], reason: 'x' }, ada, meta());
    const rotated = await service().rotateSecret(made.serviceAccountId, 'routine', ada, meta());
    const account = await new ServiceAccountStore().get(made.serviceAccountId);
    expect(account).toMatchObject({ version: 2, secretHash: hashSecret(rotated.clientSecret) });
    expect(account).not.toHaveProperty('lastChangeMac');
    expect((await service().list()).map((a) => a.serviceAccountId)).toContain(made.serviceAccountId);
    await drain();
  });
});
