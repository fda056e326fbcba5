import { randomUUID } from 'node:crypto';
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUSES, UNITS, type ChargeState } from '#charges/model';
import { toItems } from '#charges/store';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { rebuild } from '#analytics/rebuild';
import { AnalyticsService } from '#analytics/service';
import { AnalyticsStore } from '#analytics/store';
import { main as rebuildCli } from '#scripts/analytics-rebuild';
import { createTables, streamReader } from '#test/support/streams';

/**
 * The kept aggregates against a recomputation from the charges table, after a long random sequence of changes
 * (creates, quantity/unit/article/date edits, status changes, soft deletes) delivered the way a stream may deliver
 * them: in batches of any size, batches out of order, records shuffled, and some batches delivered twice.
 */

/** A small seeded generator (mulberry32): a failing sequence can be run again. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.ANALYTICS_TEST_SEED ?? 20261207);
const CHANGES = Number(process.env.ANALYTICS_TEST_CHANGES ?? 2000);
const rnd = random(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
};

const ACTOR = { userId: 'u-1', username: 'tester' };
const NEXT: Record<string, readonly string[]> = {
  in_production: ['quarantine'],
  quarantine: ['released', 'rejected'],
  released: ['blocked'],
  blocked: ['released', 'rejected'],
  rejected: [],
};

const deliver = (event: DynamoDBStreamEvent) => invoke<DynamoDBBatchResponse>('analytics-stream', event);

async function write(charge: ChargeState): Promise<void> {
  const { live, snapshot } = toItems(charge);
  await documentDb().send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: tableName('charges'), Item: live } },
        { Put: { TableName: tableName('charges'), Item: snapshot } },
      ],
    }),
  );
}

/** Applies CHANGES random changes to the charges table; returns the charges as they end up. */
async function randomHistory(): Promise<Map<string, ChargeState>> {
  const charges = new Map<string, ChargeState>();
  let clock = Date.parse('2026-03-01T08:00:00Z');
  for (let i = 0; i < CHANGES; i++) {
    // Time moves on by up to five hours per change: decisions land on many days and months.
    clock += Math.floor(rnd() * 5 * 3600 * 1000);
    const at = new Date(clock).toISOString();
    const live = [...charges.values()].filter((c) => !c.deletedAt);
    if (live.length < 20 || rnd() < 0.2) {
      const charge = {
        chargeId: randomUUID(),
        articleId: `ART-${Math.floor(rnd() * 8)}`,
        quantity: Math.round(rnd() * 1_000_000) / 1000 + 0.001,
        unit: pick(UNITS),
        productionDate: new Date(clock - Math.floor(rnd() * 20) * 86_400_000).toISOString().slice(0, 10),
        status: rnd() < 0.7 ? 'in_production' : 'quarantine',
        version: 1,
        createdAt: at,
        createdBy: ACTOR,
        updatedAt: at,
        updatedBy: ACTOR,
        requestId: randomUUID(),
        reason: null,
      } as ChargeState;
      charges.set(charge.chargeId, charge);
      await write(charge);
      continue;
    }
    const current = pick(live);
    const next: ChargeState = { ...current, version: current.version + 1, updatedAt: at, requestId: randomUUID() };
    const roll = rnd();
    const transitions = NEXT[current.status] ?? [];
    if (roll < 0.45 && transitions.length > 0) next.status = pick(transitions) as ChargeState['status'];
    else if (roll < 0.6) next.quantity = Math.round(rnd() * 1_000_000) / 1000 + 0.001;
    else if (roll < 0.7) next.unit = pick(UNITS);
    else if (roll < 0.78) next.articleId = `ART-${Math.floor(rnd() * 8)}`;
    else if (roll < 0.86)
      next.productionDate = new Date(clock - Math.floor(rnd() * 40) * 86_400_000).toISOString().slice(0, 10);
    else if (roll < 0.93) next.notes = `note ${i}`;
    else next.deletedAt = at;
    charges.set(next.chargeId, next);
    await write(next);
  }
  return charges;
}

/** Records in batches of 1–100, batches in random order, records shuffled in each, a fifth of batches twice. */
function disorderly(records: DynamoDBRecord[]): DynamoDBStreamEvent[] {
  const batches: DynamoDBRecord[][] = [];
  for (let i = 0; i < records.length;) {
    const size = 1 + Math.floor(rnd() * 100);
    batches.push(records.slice(i, i + size));
    i += size;
  }
  const again = batches.filter(() => rnd() < 0.2).map((b) => [...b]);
  return shuffle([...batches, ...again]).map((b) => ({ Records: shuffle([...b]) }));
}

let reader: ReturnType<typeof streamReader>;
let finalCharges: Map<string, ChargeState>;
let recordCount = 0;

beforeAll(async () => {
  await createTables();
  reader = streamReader(['charges']);
  finalCharges = await randomHistory();
  const { Records } = await reader.next();
  recordCount = Records.length;
  for (const event of disorderly(Records)) {
    const response = await deliver(event);
    expect(response.batchItemFailures).toEqual([]);
  }
}, 600_000);
afterAll(() => reader?.stop());

describe('analytics aggregates from the charges stream', () => {
  it('equal a recomputation from the charges table after a random history delivered out of order and twice', async () => {
    expect(recordCount).toBe(2 * CHANGES);
    const report = await rebuild();
    expect(report.differences, `seed ${SEED}`).toEqual([]);
    expect(report.charges).toBe(finalCharges.size);
    // DynamoDB Local scans a charge's items together in sort-key order: every charge's versions came from the scan.
    expect(report.queried).toBe(0);
    expect(report.expectedItems).toBeGreaterThan(100);
  });

  it('answer queries with what the final charges say (count per status, quantity per unit)', async () => {
    const service = new AnalyticsService(new AnalyticsStore(), () => new Date('2026-12-31T12:00:00Z'));
    const live = [...finalCharges.values()].filter((c) => !c.deletedAt);
    const from = live.reduce((m, c) => (c.productionDate < m ? c.productionDate : m), '9999-12-31');
    const to = live.reduce((m, c) => (c.productionDate > m ? c.productionDate : m), '0000-01-01');
    const byStatus = await service.charges({ groupBy: 'status', from, to });
    for (const status of STATUSES) {
      const expected = live.filter((c) => c.status === status).length;
      expect(byStatus.series.find((s) => s.key === status)?.points[0]?.value, status).toBe(expected);
    }
    const kg = await service.charges({ measure: 'quantity', unit: 'kg', groupBy: 'month', from, to });
    const sum = kg.series[0]?.points.reduce((a, p) => a + (p.value ?? 0), 0) ?? 0;
    const milli = live.filter((c) => c.unit === 'kg').reduce((a, c) => a + Math.round(c.quantity * 1000), 0);
    expect(Math.round(sum * 1000)).toBe(milli);
    const decisions = await service.qa({
      measure: 'decisions',
      groupBy: 'month',
      from: '2026-01-01',
      to: '2026-12-31',
    });
    const released = decisions.series.find((s) => s.key === 'released')?.points.reduce((a, p) => a + (p.value ?? 0), 0);
    expect(released).toBeGreaterThan(0);
  });

  it('a redelivered batch changes nothing', async () => {
    const reread = streamReader(['charges']);
    const { Records } = await reread.next();
    await reread.stop();
    const response = await deliver({ Records: Records.slice(0, 100) });
    expect(response.batchItemFailures).toEqual([]);
    expect((await rebuild()).differences).toEqual([]);
  });

  it('npm run analytics:rebuild reports a tampered aggregate, exits 1, and --write puts it right', async () => {
    const [charge] = [...finalCharges.values()].filter((c) => !c.deletedAt);
    const c = charge as ChargeState;
    await documentDb().send(
      new UpdateCommand({
        TableName: tableName('analytics'),
        Key: { pk: `CD#${c.productionDate.slice(0, 7)}`, sk: `${c.productionDate}#${c.status}#${c.unit}` },
        UpdateExpression: 'ADD n :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    const lines: string[] = [];
    expect(await rebuildCli([], (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toContain(
      `CD#${c.productionDate.slice(0, 7)} ${c.productionDate}#${c.status}#${c.unit} n`,
    );
    expect(await rebuildCli(['--write'], () => undefined)).toBe(1);
    expect(await rebuildCli([], () => undefined)).toBe(0);
  });
});
