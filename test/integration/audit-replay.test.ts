import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '#local/handlers';
import { pendingFailures, replayFailures } from '#scripts/audit-replay';
import { userWith } from '#test/support/events';
import { auditRecordsOf, createTables, streamReader } from '#test/support/streams';
import { seedChargeAs } from '#test/support/charges';

const operator = userWith(['operator'], 'olga');
let reader: ReturnType<typeof streamReader>;
const deliver = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('audit-stream', event);

beforeAll(async () => {
  await createTables();
  reader = streamReader(['charges']);
});
afterAll(() => reader.stop());

describe('npm run audit:replay', () => {
  it('re-drives records from the on-failure file once: a second replay of the same record writes nothing', async () => {
    const { chargeId } = await seedChargeAs(operator, { articleId: 'R-1', quantity: 1, productionDate: '2026-02-01' });
    const records = (await reader.next()).Records;
    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'audit-stream-failures.jsonl');
    const lines = records.map((record) => JSON.stringify({ at: new Date().toISOString(), attempts: 4, record }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(pendingFailures(file)).toBe(records.length);

    expect(await replayFailures(file, deliver)).toEqual({ replayed: records.length, failed: 0 });
    expect(existsSync(file)).toBe(false);
    expect(pendingFailures(file)).toBe(0);
    expect(await auditRecordsOf('charge', chargeId)).toHaveLength(1);

    // The same records again (a second run, or an operator replaying twice): duplicates, not new records.
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(await replayFailures(file, deliver)).toEqual({ replayed: records.length, failed: 0 });
    expect(await auditRecordsOf('charge', chargeId)).toHaveLength(1);
    expect(readFileSync(`${file}.replayed`, 'utf8').trim().split('\n')).toHaveLength(records.length * 2);
  });

  it('a record that still fails stays in the file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'audit-stream-failures.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ record: { eventID: 'x', eventName: 'MODIFY', dynamodb: { SequenceNumber: '1' } } })}\n`,
    );
    expect(await replayFailures(file, deliver)).toEqual({ replayed: 0, failed: 1 });
    expect(pendingFailures(file)).toBe(1);
  });
});
