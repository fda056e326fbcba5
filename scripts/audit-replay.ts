import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * Re-drives the audit stream records that failed every retry (the local on-failure file, one JSON line each) through
 * the audit-stream handler. Idempotent: each append is keyed by the record's eventID, so a record written before is
 * a duplicate, not a second audit record. What succeeds moves to `<file>.replayed`; what fails again stays.
 *
 * Locally: `npm run audit:replay` with the local runtime's DynamoDB (DYNAMODB_ENDPOINT, default port
 * DYNAMODB_LOCAL_PORT or 8000). In AWS the on-failure queue holds stream positions, not records: re-drive those
 * with the Lambda console's or CLI's stream replay.
 */

/** Records still waiting in the on-failure file. */
export function pendingFailures(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

export async function replayFailures(
  file: string,
  deliver: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>,
): Promise<{ replayed: number; failed: number }> {
  if (!existsSync(file)) return { replayed: 0, failed: 0 };
  // Taken aside first: records the poller adds meanwhile go to a new file and are not lost.
  const working = `${file}.replaying`;
  renameSync(file, working);
  const lines = readFileSync(working, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const still: string[] = [];
  let replayed = 0;
  for (const line of lines) {
    const record = (JSON.parse(line) as { record: DynamoDBRecord }).record;
    let ok: boolean;
    try {
      const response = await deliver({ Records: [record] });
      ok = !response || response.batchItemFailures.length === 0;
    } catch {
      ok = false;
    }
    if (ok) {
      appendFileSync(`${file}.replayed`, `${line}\n`, { mode: 0o600 });
      replayed++;
    } else {
      still.push(line);
    }
  }
  if (still.length > 0) appendFileSync(file, `${still.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(working, '');
  return { replayed, failed: still.length };
}

async function main(): Promise<number> {
  process.env.DYNAMODB_ENDPOINT ??= `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? 8000}`;
  const { config } = await import('#platform/config');
  const { invoke } = await import('#local/handlers');
  const file = join(config().LOCAL_STATE_DIR, 'audit-stream-failures.jsonl');
  const result = await replayFailures(file, (event) => invoke<DynamoDBBatchResponse>('audit-stream', event));
  console.log(`audit:replay: ${result.replayed} replayed, ${result.failed} still failing (${file})`);
  return result.failed === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
