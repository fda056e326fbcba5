import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableName } from '#platform/tables';
import { StreamPoller } from '#local/stream-poller';
import { userWith } from '#test/support/events';
import { createTables } from '#test/support/streams';
import { seedChargeAs } from '#test/support/charges';

const operator = userWith(['operator'], 'olga');

function poller(stateDir: string, lines: string[]) {
  return new StreamPoller({
    endpoint: process.env.DYNAMODB_ENDPOINT as string,
    tables: [tableName('charges')],
    stateDir,
    intervalMs: 10,
    log: (line) => lines.push(line),
    deliver: async () => ({ batchItemFailures: [] }),
  });
}

async function drain(p: StreamPoller) {
  for (let idle = 0; idle < 3;) idle = (await p.pollOnce()) === 0 ? idle + 1 : 0;
}

const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: string; message: string });

beforeAll(createTables);

describe('local stream poller log', () => {
  it('a fresh start (no checkpoint) logs no error, and every line is JSON', async () => {
    await seedChargeAs(operator, { articleId: 'P-LOG' });
    const lines: string[] = [];
    const p = poller(mkdtempSync(join(tmpdir(), 'poller-log-')), lines);
    await drain(p);
    await p.stop();
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(parsed(lines).filter((l) => l.level === 'ERROR')).toEqual([]);
  });

  it('a checkpoint the stream no longer holds is a real gap: one JSON error line naming the shard', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'poller-gap-'));
    const lines: string[] = [];
    const first = poller(stateDir, lines);
    await seedChargeAs(operator, { articleId: 'P-GAP' });
    await drain(first);
    await first.stop();
    // A checkpoint far before anything the stream holds: what came after it is gone.
    const file = join(stateDir, 'stream-checkpoints.json');
    const checkpoints = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, { seq?: string }>>;
    for (const shards of Object.values(checkpoints))
      for (const shard of Object.values(shards)) shard.seq = '000000000000000000001';
    writeFileSync(file, JSON.stringify(checkpoints));
    const gapLines: string[] = [];
    const again = poller(stateDir, gapLines);
    await drain(again);
    await again.stop();
    for (const line of gapLines) expect(() => JSON.parse(line), line).not.toThrow();
    const errors = parsed(gapLines).filter((l) => l.level === 'ERROR');
    expect(errors.length, gapLines.join('\n')).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatchObject({ message: 'Stream records expired unread' });
  });
});
