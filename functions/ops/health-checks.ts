import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { asError } from '#platform/errors';
import { dynamoClient } from '#platform/dynamo';
import { isDependencyUnavailable } from '#platform/http/error-response';
import { accessTokens } from '#signing/tokens';
import { TABLE_IDS, tableName } from '#platform/tables';
import type { CheckResult, FailureReason, PublicCheckResult } from './model';

// The check shapes are the response schemas of ./model. The public one has no dependency message, which in AWS
// names the account, roles and tables; the message stays in the log line of the 503.
export type { CheckResult, FailureReason, PublicCheckResult };

/** Everything known about a check; shown through `detailedView` or `publicView`. */
export interface CheckOutcome extends CheckResult {
  reason?: FailureReason;
}

export type Check = (signal: AbortSignal) => Promise<void>;

function failureReason(err: unknown, timedOut: boolean): FailureReason {
  if (timedOut || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')))
    return 'timeout';
  return isDependencyUnavailable(err) ? 'unreachable' : 'error';
}

/** Each check runs concurrently and is cut off at `timeoutMs`, so one slow dependency cannot stall the probe. */
export async function runChecks(
  checks: Record<string, Check>,
  timeoutMs: number,
): Promise<Record<string, CheckOutcome>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckOutcome]> => {
      const started = performance.now();
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort();
          reject(new Error(`timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        await Promise.race([check(controller.signal), timeout]);
        return [name, { status: 'ok', responseTimeMs: Math.round(performance.now() - started) }];
      } catch (err) {
        return [
          name,
          {
            status: 'unhealthy',
            responseTimeMs: Math.round(performance.now() - started),
            error: asError(err).message,
            reason: failureReason(err, timedOut),
          },
        ];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

const mapChecks = <T>(checks: Record<string, CheckOutcome>, view: (outcome: CheckOutcome) => T): Record<string, T> =>
  Object.fromEntries(Object.entries(checks).map(([name, outcome]) => [name, view(outcome)]));

/** `metrics:read` callers see the dependency's own message. */
export const detailedView = (checks: Record<string, CheckOutcome>): Record<string, CheckResult> =>
  mapChecks(checks, ({ reason: _reason, ...result }) => result);

/** Anonymous callers see status and reason only. */
export const publicView = (checks: Record<string, CheckOutcome>): Record<string, PublicCheckResult> =>
  mapChecks(checks, ({ error: _error, ...result }) => result);

/** Readiness: every table answers DescribeTable and is ACTIVE. */
export function tableChecks(): Record<string, Check> {
  return Object.fromEntries(
    TABLE_IDS.map((id) => [
      `table:${id}`,
      async (signal: AbortSignal) => {
        const out = await dynamoClient().send(new DescribeTableCommand({ TableName: tableName(id) }), {
          abortSignal: signal,
        });
        const status = out.Table?.TableStatus;
        if (status !== 'ACTIVE' && status !== 'UPDATING') throw new Error(`table status ${status ?? 'unknown'}`);
      },
    ]),
  );
}

/** Readiness: the signing secret names an AWSCURRENT key whose public key loads (tokens can be minted and verified). */
export function signingKeyCheck(): Record<string, Check> {
  return {
    'signing-key': async () => {
      const snapshot = await accessTokens().ring.reload();
      if (!snapshot.current) throw new Error('no AWSCURRENT signing key');
    },
  };
}
