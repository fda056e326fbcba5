import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { TABLES, tableName } from '#platform/tables';
import { createTableInput } from '#local/tables';
import { StreamPoller } from '#local/stream-poller';
import { userWith } from '#test/support/events';
import { createTables } from '#test/support/streams';
import { seedChargeAs } from '#test/support/charges';

const operator = userWith(['operator'], 'olga');

function poller(stateDir: string, lines: string[], table = tableName('charges'), delivered: string[] = []) {
  return new StreamPoller({
    endpoint: process.env.DYNAMODB_ENDPOINT as string,
    tables: [table],
    stateDir,
    intervalMs: 10,
    log: (line) => lines.push(line),
    deliver: async (event) => {
      for (const r of event.Records) delivered.push(String(r.dynamodb?.Keys?.chargeId?.S));
      return { batchItemFailures: [] };
    },
  });
}

async function drain(p: StreamPoller) {
  for (let idle = 0; idle < 3;) idle = (await p.pollOnce()) === 0 ? idle + 1 : 0;
}

/** A new table shaped like charges, created after other tables were written (as the tables of a fresh start are). */
async function freshTable(suffix: string): Promise<string> {
  const table = `${tableName('charges')}-${suffix}-${Date.now()}`;
  const admin = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
  await admin.send(new CreateTableCommand(createTableInput(TABLES.charges, table)));
  admin.destroy();
  return table;
}

const put = (table: string, chargeId: string) =>
  documentDb().send(new PutCommand({ TableName: table, Item: { chargeId, sk: 'CHARGE' } }));

const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: string; message: string });

beforeAll(createTables);

describe('local stream poller log', () => {
  it('no checkpoint, records already in the shard: no error, and every line is JSON', async () => {
    await seedChargeAs(operator, { articleId: 'P-LOG' });
    const lines: string[] = [];
    const p = poller(mkdtempSync(join(tmpdir(), 'poller-log-')), lines);
    await drain(p);
    await p.stop();
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(parsed(lines).filter((l) => l.level === 'ERROR')).toEqual([]);
  });

  it('a fresh start on new tables: the first write after an idle, empty shard is delivered, and logs no error', async () => {
    // `npm start` on an empty .local: the tables are created, other tables are written (the first admin), and the
    // poller reads this table's still empty shard from TRIM_HORIZON. DynamoDB Local numbers stream records across
    // the whole database and points that iterator at the number current when the shard was created, so the shard's
    // first record lies past it and it answers TrimmedDataAccessException: nothing was ever there to lose.
    const table = await freshTable('fresh');
    await seedChargeAs(operator, { articleId: 'P-FRESH-OTHER' }); // another table's write moves the numbering on
    const lines: string[] = [];
    const delivered: string[] = [];
    const p = poller(mkdtempSync(join(tmpdir(), 'poller-fresh-')), lines, table, delivered);
    await drain(p); // the empty shard: its iterator is kept for the next pass
    await put(table, 'first-write');
    for (let pass = 0; pass < 20 && delivered.length === 0; pass++) await p.pollOnce();
    await p.stop();

    expect(delivered).toEqual(['first-write']);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(parsed(lines).filter((l) => l.level === 'ERROR')).toEqual([]);
    // The case did happen (and is told as where reading begins, not as a loss).
    expect(parsed(lines)).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'Stream shard read from its oldest available record' }),
    );
  });

  it('a checkpoint the stream no longer holds is a real gap: one JSON error line naming the shard', async () => {
    // Records numbered after other tables' (so the shard does not hold the first number of the database).
    await seedChargeAs(operator, { articleId: 'P-GAP-OTHER' });
    const table = await freshTable('gap');
    await put(table, 'gap-1');
    await put(table, 'gap-2');
    const stateDir = mkdtempSync(join(tmpdir(), 'poller-gap-'));
    const first = poller(stateDir, [], table);
    await drain(first);
    await first.stop();
    // A checkpoint before anything the shard holds: what came after it is gone.
    const file = join(stateDir, 'stream-checkpoints.json');
    const checkpoints = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, { seq?: string }>>;
    const held = Object.values(checkpoints).flatMap((shards) => Object.values(shards).map((c) => c.seq));
    // The shard's second (last) record is numbered past 2, so its first is past 1: number 1 is not in this shard.
    expect(held.length).toBe(1);
    expect(Number(held[0])).toBeGreaterThan(2);
    for (const shards of Object.values(checkpoints))
      for (const shard of Object.values(shards)) shard.seq = '000000000000000000001';
    writeFileSync(file, JSON.stringify(checkpoints));

    const gapLines: string[] = [];
    const delivered: string[] = [];
    const again = poller(stateDir, gapLines, table, delivered);
    await drain(again);
    await again.stop();
    for (const line of gapLines) expect(() => JSON.parse(line), line).not.toThrow();
    const errors = parsed(gapLines).filter((l) => l.level === 'ERROR');
    expect(errors.length, gapLines.join('\n')).toBe(1);
    expect(errors[0]).toMatchObject({ message: 'Stream records expired unread', after: '000000000000000000001' });
    expect(errors[0]).toHaveProperty('shardId');
    // Then what the shard still holds is read.
    expect(delivered).toEqual(['gap-1', 'gap-2']);
  });
});
