import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentDb } from '../dynamo';
import { tableName } from '../tables';

export interface WindowCount {
  count: number;
  limit: number;
  /** Epoch seconds when the window ends and the count starts again. */
  resetAt: number;
}

/**
 * A fixed-window counter in `auth-state`: one atomic ADD per call, the window's start in the key, so an
 * old window can never be mistaken for the current one even where TTL deletion lags (DynamoDB Local never
 * deletes). Used for the per-user API rate limit and the per-IP login limit.
 */
export async function countInWindow(
  name: string,
  windowSeconds: number,
  limit: number,
  now: number,
): Promise<WindowCount> {
  const windowStart = now - (now % windowSeconds);
  const resetAt = windowStart + windowSeconds;
  const out = await documentDb().send(
    new UpdateCommand({
      TableName: tableName('auth-state'),
      Key: { pk: `${name}#${windowStart}` },
      UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)',
      ExpressionAttributeNames: { '#count': 'count' },
      ExpressionAttributeValues: { ':one': 1, ':expires': resetAt + 60 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return { count: Number(out.Attributes?.count ?? 1), limit, resetAt };
}
