import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { asError } from './errors';
import { dynamoClient } from './dynamo';
import { accessTokens } from './signing/tokens';
import { TABLE_IDS, tableName } from './tables';

export interface CheckResult {
  status: 'ok' | 'unhealthy';
  responseTimeMs: number;
  error?: string;
}

export type Check = (signal: AbortSignal) => Promise<void>;

/** Each check runs concurrently and is cut off at `timeoutMs`, so one slow dependency cannot stall the probe. */
export async function runChecks(checks: Record<string, Check>, timeoutMs: number): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
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
          { status: 'unhealthy', responseTimeMs: Math.round(performance.now() - started), error: asError(err).message },
        ];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

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
