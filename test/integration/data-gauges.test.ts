import { beforeAll, describe, expect, it } from 'vitest';
import { appendAuditRecord } from '#audit/audit-log';
import { auditRecordCount } from '#ops/data-gauges';
import { createTables, scanAll } from '#test/support/streams';

beforeAll(createTables);

describe('the audit_records gauge', () => {
  it("counts audit records from the index's item count, without reading the trail, as many as were appended", async () => {
    const before = await auditRecordCount();
    for (let v = 1; v <= 3; v++) {
      await appendAuditRecord({
        entityType: 'charge',
        entityId: 'c-gauge',
        action: v === 1 ? 'create' : 'update',
        actor: { userId: 'u-1', username: 'olga' },
        requestId: `gauge-${v}`,
        version: v,
        reason: null,
        changes: { quantity: { from: v - 1, to: v } },
      });
    }
    expect((await scanAll('audit')).filter((i) => i.entityKey === 'charge#c-gauge')).toHaveLength(3);
    expect((await auditRecordCount()) - before).toBe(3);
  });
});
