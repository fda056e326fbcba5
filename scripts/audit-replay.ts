import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { replayFailuresFrom, type ReplayResult } from '#audit/replay';
import { LocalStreamFailureFile } from '#local/adapters/local-stream-failures';

/**
 * Re-drives the audit stream records that failed every retry through the audit-stream handler, once the cause is
 * fixed. Idempotent: each append is keyed by the record's eventID, so a record written before is a duplicate, not
 * a second audit record. The handler does the work itself (`{"replay": "on-failure-queue"}`), since only the audit
 * function may verify attribution MACs and append:
 *
 * - locally, `npm run audit:replay`: the local on-failure file, through the local runtime's handler (DynamoDB at
 *   DYNAMODB_ENDPOINT, default port DYNAMODB_LOCAL_PORT or 8000); what succeeds moves to `<file>.replayed`;
 * - in AWS, `npm run audit:replay -- --aws <audit-stream function name>` prints the invocation: the function reads
 *   the SQS on-failure queue, reads each failed range back from the stream (24 h retention) and deletes a message
 *   only once all its records are on the trail (functions/audit/replay.ts).
 */

/** Records still waiting in the on-failure file. */
export function pendingFailures(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

/** The local on-failure file re-driven through `deliver`. */
export async function replayFailures(
  file: string,
  deliver: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>,
): Promise<{ replayed: number; failed: number }> {
  const { replayed, failed } = await replayFailuresFrom(new LocalStreamFailureFile(file), deliver);
  return { replayed, failed };
}

async function main(args: string[]): Promise<number> {
  const aws = args.indexOf('--aws');
  if (aws >= 0) {
    const fn = args[aws + 1];
    if (!fn) {
      console.error('usage: npm run audit:replay -- [--aws <audit-stream function name>]');
      return 2;
    }
    console.log(
      `aws lambda invoke --function-name ${fn} --cli-binary-format raw-in-base64-out ` +
        `--payload '{"replay":"on-failure-queue"}' /dev/stdout`,
    );
    return 0;
  }
  process.env.DYNAMODB_ENDPOINT ??= `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? 8000}`;
  const { config } = await import('#platform/config');
  const { invoke } = await import('#local/handlers');
  const file = join(config().LOCAL_STATE_DIR, 'audit-stream-failures.jsonl');
  const result = await invoke<ReplayResult>('audit-stream', { replay: 'on-failure-queue' });
  for (const problem of result.problems) console.error(`audit:replay: still failing: ${problem}`);
  console.log(`audit:replay: ${result.replayed} replayed, ${result.failed} still failing (${file})`);
  return result.failed === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
