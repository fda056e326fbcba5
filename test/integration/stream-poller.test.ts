import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { StreamPoller } from '#local/stream-poller';
import { userWith } from '#test/support/events';
import { auditRecordsOf, createTables } from '#test/support/streams';
import { eventually } from '#test/support/eventually';
import { seedChargeAs } from '#test/support/charges';

const operator = userWith(['operator'], 'olga');

const newCharge = async (articleId = 'P-1') => (await seedChargeAs(operator, { articleId })).chargeId;

/** A poller over the charges stream that records every event it delivers to the real audit handler. */
function poller(stateDir: string, wrap?: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) {
  const delivered: string[] = [];
  const instance = new StreamPoller({
    endpoint: process.env.DYNAMODB_ENDPOINT as string,
    tables: [tableName('charges')],
    stateDir,
    retryAttempts: 2,
    intervalMs: 10,
    log: () => undefined,
    deliver: async (event) => {
      delivered.push(...event.Records.map((r) => r.eventID as string));
      return wrap ? wrap(event) : invoke<DynamoDBBatchResponse>('audit-stream', event);
    },
  });
  return { instance, delivered };
}

async function drain(p: StreamPoller) {
  for (let idle = 0; idle < 3;) idle = (await p.pollOnce()) === 0 ? idle + 1 : 0;
}

beforeAll(createTables);

describe('local stream poller', () => {
  it('checkpoints per shard: a restart neither repeats nor loses records', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'poller-'));
    const first = poller(stateDir);
    const a = await newCharge();
    await drain(first.instance);
    await first.instance.stop();
    expect(first.delivered.length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(stateDir, 'stream-checkpoints.json'))).toBe(true);

    const b = await newCharge(); // written while no poller runs
    const second = poller(stateDir);
    await drain(second.instance);
    await second.instance.stop();
    // b's item, its version snapshot, its lot number's claim and the lot counter's update; nothing of a's again
    expect(second.delivered).toHaveLength(4);
    expect(second.delivered.some((id) => first.delivered.includes(id))).toBe(false);
    expect(await auditRecordsOf('charge', a)).toHaveLength(1);
    expect(await auditRecordsOf('charge', b)).toHaveLength(1);
  });

  it('retries failed records from the first failure and, after the retries, writes them to the on-failure file', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'poller-'));
    const warmup = poller(stateDir, async () => ({ batchItemFailures: [] }));
    await drain(warmup.instance); // skip what earlier tests wrote
    await warmup.instance.stop();

    const id = await newCharge('P-POISON');
    let calls = 0;
    const chargeRecords = new Set<string>();
    const failing = poller(stateDir, async (event) => {
      calls += 1;
      // The charge's own records (its item, its version snapshot) always fail: poisoned records. The lot claim and
      // the lot counter (other partition keys) go through.
      const ofCharge = event.Records.filter((r) => r.dynamodb?.Keys?.chargeId?.S === id);
      for (const r of ofCharge) chargeRecords.add(r.eventID as string);
      return { batchItemFailures: ofCharge.slice(0, 1).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })) };
    });
    await eventually(
      async () => {
        await failing.instance.pollOnce();
        expect(existsSync(failing.instance.onFailureFile), 'on-failure file written').toBe(true);
      },
      { attempts: 40, intervalMs: 15 },
    );
    await drain(failing.instance);
    await failing.instance.stop();
    // 1 delivery + 2 retries of the poisoned record, then the next record alone until it fails as often.
    expect(calls).toBeGreaterThanOrEqual(3);
    const dead = readFileSync(failing.instance.onFailureFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(dead[0]).toMatchObject({
      attempts: 3,
      record: { eventSource: 'aws:dynamodb', dynamodb: { Keys: { chargeId: { S: id } } } },
    });
    // After a restart: the dead-lettered record does not come back; a record still being retried
    // (the version snapshot, depending on timing) does — nothing is lost, nothing repeated.
    const after = poller(stateDir, async () => ({ batchItemFailures: [] }));
    await drain(after.instance);
    await after.instance.stop();
    const deadIds = dead.map((d) => d.record.eventID as string);
    expect(after.delivered.filter((id) => deadIds.includes(id))).toEqual([]);
    expect(chargeRecords.size).toBe(2);
    for (const eventId of chargeRecords)
      expect(deadIds.includes(eventId) || after.delivered.includes(eventId)).toBe(true);
  });

  it('a handler that throws fails the whole batch, which is delivered again (nothing lost)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'poller-'));
    const warmup = poller(stateDir, async () => ({ batchItemFailures: [] }));
    await drain(warmup.instance);
    await warmup.instance.stop();

    const id = await newCharge('P-THROW');
    let throwOnce = true;
    const flaky = poller(stateDir, async (event) => {
      if (throwOnce) {
        throwOnce = false;
        throw new Error('function error');
      }
      return invoke<DynamoDBBatchResponse>('audit-stream', event);
    });
    await eventually(
      async () => {
        await flaky.instance.pollOnce();
        expect(await auditRecordsOf('charge', id)).not.toHaveLength(0);
      },
      { attempts: 20, intervalMs: 20 },
    );
    await flaky.instance.stop();
    expect(await auditRecordsOf('charge', id)).toHaveLength(1);
  });
});
