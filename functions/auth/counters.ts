import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';

export interface WindowCount {
  limit: number;
  /** Whole requests still allowed right now (after this one). */
  remaining: number;
  /** True when this request took the estimate over the limit: refuse it. */
  exceeded: boolean;
  /**
   * Epoch seconds: the end of the current window; when exceeded, the earliest time a request would be allowed
   * again (if no more are sent meanwhile), so `Retry-After = resetAt - now`.
   */
  resetAt: number;
}

/** One item per counter: the current window's start and count, and the previous window's count. */
interface CounterItem {
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * A sliding-window counter in `auth-state` (the estimate Cloudflare and nginx-style limiters use): the
 * requests of the last `windowSeconds` are estimated as this window's count plus the previous window's count
 * weighted by how much of it still overlaps the last `windowSeconds`. A fixed window would let a client send
 * `limit` requests at the end of one window and `limit` more at the start of the next, 2× within a second or
 * two; here, b seconds after a boundary at most `limit × b / windowSeconds` requests more than `limit` fit.
 *
 * Every request counts, refused ones too (a client that ignores Retry-After stays limited), but the previous
 * window weighs at most `limit`, so refused requests never carry a penalty past the next window.
 *
 * One conditional ADD per request; at a window's first request the item is rolled over (one or two more
 * conditional writes, once per window). Used for the per-user API rate limit and the per-IP login limit.
 */
export async function countInWindow(
  name: string,
  windowSeconds: number,
  limit: number,
  now: number,
): Promise<WindowCount> {
  return slidingEstimate(await hit(name, now, windowSeconds), windowSeconds, limit, now);
}

/** The decision for a counter that already includes this request; integer arithmetic (scaled by the window). */
export function slidingEstimate(counter: CounterItem, windowSeconds: number, limit: number, now: number): WindowCount {
  const W = windowSeconds;
  // Clamped: the item's window may have started a moment "after" now on another function's clock.
  const elapsed = Math.min(W - 1, Math.max(0, now - counter.windowStart));
  const previous = Math.min(counter.previous, limit);
  // estimate × W = previous × (W − elapsed) + current × W
  const scaled = previous * (W - elapsed) + counter.current * W;
  const exceeded = scaled > limit * W;
  const windowEnd = counter.windowStart + W;
  if (!exceeded) {
    return { limit, remaining: Math.floor((limit * W - scaled) / W), exceeded, resetAt: windowEnd };
  }
  return {
    limit,
    remaining: 0,
    exceeded,
    resetAt: nextAllowedAt(counter.windowStart, W, previous, counter.current, limit),
  };
}

/** When one more request would fit, if none is sent before: later in this window, or early in the next. */
function nextAllowedAt(windowStart: number, W: number, previous: number, current: number, limit: number): number {
  // In this window at elapsed e: previous × (W − e) + (current + 1) × W ≤ limit × W.
  if (current + 1 <= limit && previous > 0) {
    const e = Math.ceil(W - ((limit - current - 1) * W) / previous);
    if (e < W) return windowStart + e;
  }
  // In the next one, this window's count (at most `limit`) weighs on it: min(current, limit) × (W − e) + W ≤ limit × W.
  const carried = Math.min(current, limit);
  const e = carried === 0 ? 0 : Math.max(0, Math.ceil(W - ((limit - 1) * W) / carried));
  return windowStart + W + e;
}

const isConditionFailure = (err: unknown) => err instanceof ConditionalCheckFailedException;

/** Counts one request on the counter's item, rolling it into the current window first where needed. */
async function hit(name: string, now: number, W: number): Promise<CounterItem> {
  const base = { TableName: tableName('auth-state'), Key: { pk: name }, ReturnValues: 'ALL_NEW' as const };
  let windowStart = now - (now % W);
  const item = (attributes: Record<string, unknown> | undefined): CounterItem => ({
    windowStart: Number(attributes?.windowStart ?? windowStart),
    current: Number(attributes?.current ?? 1),
    previous: Number(attributes?.previous ?? 0),
  });
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      // The common case: the item is already in this window.
      const out = await documentDb().send(
        new UpdateCommand({
          ...base,
          UpdateExpression: 'ADD #current :one',
          ConditionExpression: 'windowStart = :ws',
          ExpressionAttributeNames: { '#current': 'current' },
          ExpressionAttributeValues: { ':one': 1, ':ws': windowStart },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return item(out.Attributes);
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const stored = (err as ConditionalCheckFailedException).Item?.windowStart?.N;
      const oldStart = stored === undefined ? undefined : Number(stored);
      if (oldStart === windowStart + W) {
        // Another function's clock crossed the boundary a moment earlier (clocks differ by milliseconds).
        windowStart = oldStart;
        continue;
      }
      // The item outlives its window by one more: the next window still reads it as `previous`.
      const roll = rollOver(windowStart, W, windowStart + 2 * W + 60, oldStart);
      try {
        return item((await documentDb().send(new UpdateCommand({ ...base, ...roll }))).Attributes);
      } catch (rollErr) {
        // Another request rolled the item meanwhile: count in the window it set up.
        if (!isConditionFailure(rollErr)) throw rollErr;
      }
    }
  }
  throw new Error(`rate counter ${name}: too many concurrent window changes`);
}

/**
 * Moves the item into this window, on the condition that it is still in the window it was just seen in. Only
 * the window right before this one carries over as `previous`; an older one (or none) leaves zero.
 */
function rollOver(windowStart: number, W: number, expiresAt: number, oldStart: number | undefined) {
  const values = { ':one': 1, ':ws': windowStart, ':exp': expiresAt };
  const names = { '#current': 'current' };
  if (oldStart === undefined) {
    return {
      UpdateExpression: 'SET previous = :zero, #current = :one, windowStart = :ws, expiresAt = :exp',
      ConditionExpression: 'attribute_not_exists(pk)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ':zero': 0 },
    };
  }
  if (oldStart === windowStart - W) {
    // DynamoDB evaluates the right-hand sides against the item before the update: `previous` gets the old count.
    return {
      UpdateExpression: 'SET previous = #current, #current = :one, windowStart = :ws, expiresAt = :exp',
      ConditionExpression: 'windowStart = :old',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ':old': oldStart },
    };
  }
  return {
    UpdateExpression: 'SET previous = :zero, #current = :one, windowStart = :ws, expiresAt = :exp',
    ConditionExpression: 'windowStart = :old',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ...values, ':zero': 0, ':old': oldStart },
  };
}
