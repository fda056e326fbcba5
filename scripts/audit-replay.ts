import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LambdaClient } from '@aws-sdk/client-lambda';
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
 * - in AWS, `npm run audit:replay -- --aws <audit-stream function name>` invokes that function (credentials and
 *   region from the usual AWS environment or profile; lambda:InvokeFunction on it): it reads the SQS on-failure
 *   queue, reads each failed range back from the stream (24 h retention) and deletes a message only once all its
 *   records are on the trail (functions/audit/replay.ts).
 *
 * Prints the result (replayed, still failing, why); exits 0 only when nothing is still failing, 1 otherwise (a record
 * still failing, or the invocation failed), 2 on wrong use.
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

/** The invocation's outcome as one line: what the operator must do differs (credentials, a function error). */
function invocationProblem(functionName: string, err: unknown): string {
  const { name, message } = err as Error;
  if (name === 'CredentialsProviderError')
    return `no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_REGION (${message})`;
  if (/region is missing/i.test(message)) return 'no AWS region: set AWS_REGION or a profile with a region';
  if (name === 'ResourceNotFoundException')
    return `no function ${functionName} in this account and region (${message})`;
  return `invoking ${functionName} failed: ${name}: ${message}`;
}

function lambdaPayload(payload: Uint8Array | undefined): unknown {
  const text = payload ? new TextDecoder().decode(payload) : '';
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return text;
  }
}

const isReplayResult = (value: unknown): value is ReplayResult =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ReplayResult).replayed === 'number' &&
  typeof (value as ReplayResult).failed === 'number' &&
  Array.isArray((value as ReplayResult).problems);

/**
 * Invokes the audit-stream function in AWS with `{"replay": "on-failure-queue"}` and prints its ReplayResult.
 * Exit code: 0 only when no record is still failing; 1 when some is, or when the invocation itself failed.
 */
export async function replayInAws(
  functionName: string,
  client?: LambdaClient,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  // Loaded here: the local runtime imports this module (pendingFailures) and never needs the Lambda client.
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const lambda = client ?? new LambdaClient({});
  let response;
  try {
    response = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify({ replay: 'on-failure-queue' })),
      }),
    );
  } catch (err) {
    out.error(`audit:replay: ${invocationProblem(functionName, err)}`);
    return 1;
  }
  const payload = lambdaPayload(response.Payload);
  if (response.FunctionError) {
    // Lambda's error payload: {errorType, errorMessage, trace}. Nothing was confirmed re-driven.
    const { errorType, errorMessage } = (payload ?? {}) as { errorType?: string; errorMessage?: string };
    out.error(
      `audit:replay: ${functionName} failed (${response.FunctionError}): ${errorType ?? 'Error'}: ${errorMessage ?? JSON.stringify(payload)}`,
    );
    return 1;
  }
  if (!isReplayResult(payload)) {
    out.error(`audit:replay: ${functionName} answered no replay result: ${JSON.stringify(payload)}`);
    return 1;
  }
  for (const problem of payload.problems) out.error(`audit:replay: still failing: ${problem}`);
  out.log(`audit:replay: ${payload.replayed} replayed, ${payload.failed} still failing (${functionName})`);
  return payload.failed === 0 ? 0 : 1;
}

async function main(args: string[]): Promise<number> {
  const aws = args.indexOf('--aws');
  if (aws >= 0) {
    const fn = args[aws + 1];
    if (!fn) {
      console.error('usage: npm run audit:replay -- [--aws <audit-stream function name>]');
      return 2;
    }
    return replayInAws(fn);
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
