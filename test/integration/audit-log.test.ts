import { beforeAll, describe, expect, it } from 'vitest';
import { appendAuditRecord, AuditLog } from '#audit/audit-log';
import { GENESIS_HASH, verifyChain } from '#audit/record';
import { AuditStore } from '#audit/store';
import { auditRecordsOf, createTables, scanAll } from '#test/support/streams';

const actor = { userId: 'u-1', username: 'olga' };

beforeAll(createTables);

describe('appendAuditRecord', () => {
  it('chains records per entity: seq 1, 2, 3 with prevHash → hash links, and the chain verifies', async () => {
    for (let v = 1; v <= 3; v++) {
      const result = await appendAuditRecord({
        entityType: 'charge',
        entityId: 'c-chain',
        action: v === 1 ? 'create' : 'update',
        actor,
        version: v,
        reason: v === 1 ? null : `step ${v}`,
        changes: { quantity: { from: v - 1, to: v } },
      });
      expect(result.status).toBe('appended');
    }
    const records = await new AuditStore().chain('charge', 'c-chain');
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(verifyChain(records)).toEqual({ valid: true, records: 3 });
  });

  it('20 concurrent writers for one entity are serialised: no fork, no lost record', async () => {
    // Separate AuditLog instances stand for separate Lambda invocations.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new AuditLog().append({
          entityType: 'user',
          entityId: 'u-race',
          action: 'login.success',
          actor,
          requestId: `r${i}`,
        }),
      ),
    );
    expect(results.every((r) => r.status === 'appended')).toBe(true);
    const records = await new AuditStore().chain('user', 'u-race');
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.requestId)).size).toBe(20);
    expect(verifyChain(records).valid).toBe(true);
  });

  it('a wrong head guess (an empty chain that is not, a stale head) only costs a retry: no fork, the chain verifies', async () => {
    const log = new AuditLog();
    const input = (n: number) => ({
      entityType: 'user',
      entityId: 'u-guess',
      action: 'update',
      actor,
      requestId: `g${n}`,
    });
    await log.append(input(1));
    const second = await log.append(input(2));
    // Guessed empty, as the stream consumer does for a create: lands after the two records.
    const third = await log.append(input(3), { seq: 0, hash: GENESIS_HASH });
    // Guessed from record 2, which is no longer the head.
    if (second.status !== 'appended') throw new Error('second append was not appended');
    const fourth = await log.append(input(4), { seq: second.record.seq, hash: second.record.hash });
    expect([third.status, fourth.status]).toEqual(['appended', 'appended']);
    const records = await new AuditStore().chain('user', 'u-guess');
    expect(records.map((r) => [r.seq, r.requestId])).toEqual([
      [1, 'g1'],
      [2, 'g2'],
      [3, 'g3'],
      [4, 'g4'],
    ]);
    expect(verifyChain(records)).toEqual({ valid: true, records: 4 });
  });

  it('an idempotency key makes the append happen once, even when redelivered concurrently', async () => {
    const input = { entityType: 'charge', entityId: 'c-idem', action: 'create', actor, idempotencyKey: 'evt-1' };
    const results = await Promise.all([appendAuditRecord(input), appendAuditRecord(input), appendAuditRecord(input)]);
    expect(results.filter((r) => r.status === 'appended')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(2);
    expect(await appendAuditRecord(input)).toEqual({ status: 'duplicate' });
    expect(await auditRecordsOf('charge', 'c-idem')).toHaveLength(1);
  });

  it('secret fields never reach the table, only the fact that they changed', async () => {
    const hash = 'scrypt$N=131072$c2VjcmV0c2FsdA$SECRETHASHVALUE';
    await appendAuditRecord({
      entityType: 'user',
      entityId: 'u-secret',
      action: 'password.change',
      actor,
      changes: {
        passwordHash: { from: 'scrypt$old$OLDHASHVALUE', to: hash },
        profile: { from: null, to: { refreshTokenHash: 'RTHASH', displayName: 'Olga' } },
      },
    });
    const [record] = await auditRecordsOf('user', 'u-secret');
    expect(record!.changes).toEqual({
      passwordHash: { from: '[REDACTED]', to: '[REDACTED]' },
      profile: { from: null, to: { refreshTokenHash: '[REDACTED]', displayName: 'Olga' } },
    });
    const everything = JSON.stringify(await scanAll('audit'));
    for (const secret of ['SECRETHASHVALUE', 'OLDHASHVALUE', 'RTHASH']) expect(everything).not.toContain(secret);
  });

  it('stores the index keys: byActor and byMonth find the record', async () => {
    const result = await appendAuditRecord({
      entityType: 'user',
      entityId: 'u-idx',
      action: 'logout',
      actor: { userId: 'u-idx-actor', username: 'x' },
    });
    if (result.status !== 'appended') throw new Error('expected an append');
    const byActor = await new AuditStore().search({ actor: 'u-idx-actor', limit: 10 });
    expect(byActor.items.map((r) => r.auditId)).toEqual([result.record.auditId]);
    const byMonth = await new AuditStore().search({ action: 'logout', from: result.record.at, limit: 10 });
    expect(byMonth.items.map((r) => r.auditId)).toContain(result.record.auditId);
  });
});
