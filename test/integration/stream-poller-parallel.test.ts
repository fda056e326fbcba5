import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '#local/handlers';
import { StreamPoller } from '#local/stream-poller';
import { tableName } from '#platform/tables';
import { seedChargeAs } from '#test/support/charges';
import { userWith } from '#test/support/events';
import { auditRecordsOf, createTables } from '#test/support/streams';

const operator = userWith(['operator'], 'pia');

/**
 * A poller over the charges stream that hands every batch to the real audit handler and records, per page, how
 * many batches were in flight at once and which records each batch held.
 */
function poller(stateDir: string, parallelization: number, fail?: (event: DynamoDBStreamEvent) => string | undefined) {
  let inFlight = 0;
  let maxInFlight = 0;
  const batches: DynamoDBStreamEvent[] = [];
  const instance = new StreamPoller({
    endpoint: process.env.DYNAMODB_ENDPOINT as string,
    tables: [tableName('charges')],
    stateDir,
    parallelization,
    intervalMs: 10,
    log: () => undefined,
    deliver: async (event) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push(event);
      try {
        const failed = fail?.(event);
        if (failed) return { batchItemFailures: [{ itemIdentifier: failed }] };
        return await invoke<DynamoDBBatchResponse>('audit-stream', event);
      } finally {
        inFlight -= 1;
      }
    },
  });
  return { instance, batches, maxInFlight: () => maxInFlight };
}

/** Polls until three passes in a row find nothing; an idle pass waits out a failed batch's 10 ms back-off. */
async function drain(p: StreamPoller) {
  for (let idle = 0; idle < 3;) {
    if ((await p.pollOnce()) > 0) idle = 0;
    else {
      idle += 1;
      await new Promise((r) => setTimeout(r, 30));
    }
  }
}

const chargeIdOf = (r: DynamoDBStreamEvent['Records'][number]) => String(r.dynamodb?.Keys?.chargeId?.S);
const seqOf = (r: DynamoDBStreamEvent['Records'][number]) => BigInt(r.dynamodb?.SequenceNumber ?? '0');

/** Skips what earlier tests of this file left in the stream. */
async function freshState(): Promise<string> {
  const stateDir = mkdtempSync(join(tmpdir(), 'poller-parallel-'));
  const skip = new StreamPoller({
    endpoint: process.env.DYNAMODB_ENDPOINT as string,
    tables: [tableName('charges')],
    stateDir,
    log: () => undefined,
    deliver: async () => ({ batchItemFailures: [] }),
  });
  await drain(skip);
  await skip.stop();
  return stateDir;
}

beforeAll(createTables);

describe('local stream poller: batches by partition key', () => {
  it('delivers one page as several batches at once, each charge whole and in stream order', async () => {
    const serial = poller(await freshState(), 1);
    const parallel = poller(await freshState(), 4);
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await seedChargeAs(operator, { articleId: `PAR-${i}` })).chargeId);

    await drain(serial.instance);
    await drain(parallel.instance);
    await serial.instance.stop();
    await parallel.instance.stop();

    // The same records either way, each exactly once.
    const eventIds = (p: typeof serial) => p.batches.flatMap((b) => b.Records.map((r) => r.eventID)).sort();
    expect(eventIds(parallel)).toEqual(eventIds(serial));
    expect(new Set(eventIds(parallel)).size).toBe(eventIds(parallel).length);

    // One batch at a time before; now up to four (12 charges over 4 slots leave none empty in practice).
    expect(serial.maxInFlight()).toBe(1);
    expect(parallel.maxInFlight()).toBeGreaterThan(1);
    expect(parallel.maxInFlight()).toBeLessThanOrEqual(4);
    expect(parallel.batches.length).toBeGreaterThan(serial.batches.length);

    // A charge's records (item and version snapshot) share one batch, in stream order.
    for (const id of ids) {
      const holding = parallel.batches.filter((b) => b.Records.some((r) => chargeIdOf(r) === id));
      expect(holding).toHaveLength(1);
      const seqs = holding[0]!.Records.filter((r) => chargeIdOf(r) === id).map(seqOf);
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    // And the audit trail got one record per charge, whichever poller wrote it first.
    for (const id of ids) expect(await auditRecordsOf('charge', id)).toHaveLength(1);
    // Twelve charges through the real handler twice over, on a shared DynamoDB Local: more than the default 30 s.
  }, 120_000);

  it('resumes at the first failed record of the page; records another batch wrote again are not audited twice', async () => {
    const stateDir = await freshState();
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push((await seedChargeAs(operator, { articleId: `PARF-${i}` })).chargeId);
    const victim = ids[0]!;
    let failedOnce = false;
    const p = poller(stateDir, 4, (event) => {
      const record = event.Records.find((r) => chargeIdOf(r) === victim);
      if (!record || failedOnce) return undefined;
      failedOnce = true;
      return record.dynamodb?.SequenceNumber;
    });
    await drain(p.instance);
    await p.instance.stop();

    expect(failedOnce).toBe(true);
    const deliveries = (id: string) =>
      p.batches.filter((b) => b.Records.some((r) => chargeIdOf(r) === id && r.dynamodb?.NewImage?.sk?.S === 'CHARGE'))
        .length;
    expect(deliveries(victim)).toBe(2);
    for (const id of ids) expect(await auditRecordsOf('charge', id)).toHaveLength(1);
  }, 120_000);
});
