import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../config';
import { documentDb } from '../dynamo';
import { tableName } from '../tables';
import { usernameKey } from '../users/user';

/**
 * Brute-force defences of SPEC §5, kept per username in ONE `auth-state` item (`login#<username>`):
 *
 * - failures are counted per username + source IP (`pairs[ip]`): LOGIN_MAX_FAILURES within 15 minutes lock
 *   that pair — only that pair — for LOCKOUT_SECONDS. An attacker elsewhere locks out only themselves.
 * - a per-username ceiling (100 failures per hour, from all IPs together) locks the account for everyone:
 *   that takes a distributed attack, and it is a security event an administrator sees and can undo.
 * - unknown usernames get exactly the same item and treatment, so the responses reveal nothing.
 *
 * One item per username makes unlock a single delete and keeps the read on the login path to one GetItem.
 * Writes are optimistic (version condition), so concurrent failures are all counted.
 */
export const FAILURE_WINDOW_SECONDS = 15 * 60;
export const CEILING_WINDOW_SECONDS = 60 * 60;
export const CEILING_MAX_FAILURES = 100;
/** Bounds the item size under a many-IP attack; the ceiling locks long before this matters. */
const MAX_TRACKED_PAIRS = 200;

interface PairState {
  /** Failure times (epoch s) within the window, newest last. */
  failures: number[];
  lockedUntil?: number;
}

interface LoginState {
  pk: string;
  version: number;
  pairs: Record<string, PairState>;
  hourStart: number;
  hourFailures: number;
  /** Account-wide lock from the hourly ceiling. */
  lockedUntil?: number;
  expiresAt: number;
}

export type LockStatus =
  | { locked: false }
  | { locked: true; scope: 'pair' | 'account'; retryAfterSeconds: number };

export type FailureOutcome = { lockedNow: false } | { lockedNow: true; scope: 'pair' | 'account'; until: number };

const stateKey = (username: string) => `login#${usernameKey(username)}`;

async function read(username: string): Promise<LoginState | undefined> {
  const out = await documentDb().send(
    new GetCommand({ TableName: tableName('auth-state'), Key: { pk: stateKey(username) }, ConsistentRead: true }),
  );
  return out.Item as LoginState | undefined;
}

function lockStatusOf(state: LoginState | undefined, ip: string, now: number): LockStatus {
  if (!state) return { locked: false };
  if (state.lockedUntil && state.lockedUntil > now) {
    return { locked: true, scope: 'account', retryAfterSeconds: state.lockedUntil - now };
  }
  const pairLock = state.pairs[ip]?.lockedUntil;
  if (pairLock && pairLock > now) return { locked: true, scope: 'pair', retryAfterSeconds: pairLock - now };
  return { locked: false };
}

export async function lockStatus(username: string, ip: string, now: number): Promise<LockStatus> {
  return lockStatusOf(await read(username), ip, now);
}

/** Read-modify-write with a version condition; a lost race re-reads and applies the change again. */
async function mutate(username: string, now: number, change: (state: LoginState) => void): Promise<LoginState> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await read(username);
    const state: LoginState = current
      ? structuredClone(current)
      : { pk: stateKey(username), version: 0, pairs: {}, hourStart: now, hourFailures: 0, expiresAt: now };
    change(state);
    prune(state, now);
    state.version = (current?.version ?? 0) + 1;
    try {
      await documentDb().send(
        new PutCommand({
          TableName: tableName('auth-state'),
          Item: state,
          ConditionExpression: current ? '#v = :v' : 'attribute_not_exists(pk)',
          ...(current
            ? { ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': current.version } }
            : {}),
        }),
      );
      return state;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
    }
  }
  throw new Error('login state: too many concurrent updates');
}

function prune(state: LoginState, now: number): void {
  for (const [ip, pair] of Object.entries(state.pairs)) {
    pair.failures = pair.failures.filter((t) => t > now - FAILURE_WINDOW_SECONDS);
    if (pair.failures.length === 0 && !(pair.lockedUntil && pair.lockedUntil > now)) delete state.pairs[ip];
  }
  const ips = Object.keys(state.pairs);
  if (ips.length > MAX_TRACKED_PAIRS) {
    const newest = (ip: string) => state.pairs[ip]?.failures.at(-1) ?? 0;
    ips.sort((a, b) => newest(a) - newest(b));
    for (const ip of ips.slice(0, ips.length - MAX_TRACKED_PAIRS)) delete state.pairs[ip];
  }
  const horizon = Math.max(
    now + FAILURE_WINDOW_SECONDS,
    state.hourStart + CEILING_WINDOW_SECONDS,
    state.lockedUntil ?? 0,
    ...Object.values(state.pairs).map((p) => p.lockedUntil ?? 0),
  );
  state.expiresAt = horizon + 60;
}

/** Counts one failed password check for this username + IP; says whether it just locked the pair or the account. */
export async function recordFailure(username: string, ip: string, now: number): Promise<FailureOutcome> {
  const { LOGIN_MAX_FAILURES, LOCKOUT_SECONDS } = config();
  let outcome: FailureOutcome = { lockedNow: false };
  await mutate(username, now, (state) => {
    outcome = { lockedNow: false };
    const pair = (state.pairs[ip] ??= { failures: [] });
    pair.failures = [...pair.failures.filter((t) => t > now - FAILURE_WINDOW_SECONDS), now];
    if (pair.failures.length >= LOGIN_MAX_FAILURES) {
      // The lock starts a fresh count: after it expires the pair gets its full allowance again.
      pair.lockedUntil = now + LOCKOUT_SECONDS;
      pair.failures = [];
      outcome = { lockedNow: true, scope: 'pair', until: pair.lockedUntil };
    }
    if (now >= state.hourStart + CEILING_WINDOW_SECONDS) {
      state.hourStart = now;
      state.hourFailures = 0;
    }
    state.hourFailures += 1;
    if (state.hourFailures >= CEILING_MAX_FAILURES && !(state.lockedUntil && state.lockedUntil > now)) {
      state.lockedUntil = state.hourStart + CEILING_WINDOW_SECONDS;
      outcome = { lockedNow: true, scope: 'account', until: state.lockedUntil };
    }
  });
  return outcome;
}

/** A successful login resets its pair's counter (SPEC §5); other pairs and the hourly ceiling are untouched. */
export async function recordSuccess(username: string, ip: string, now: number): Promise<void> {
  const state = await read(username);
  if (!state?.pairs[ip]) return;
  try {
    await mutate(username, now, (s) => {
      delete s.pairs[ip];
    });
  } catch {
    // Best effort: contention from an attack on this username must not stop the real user's login.
  }
}

/** POST /users/{id}/unlock: every lock and counter of the username goes. */
export async function unlock(username: string): Promise<boolean> {
  const out = await documentDb().send(
    new DeleteCommand({ TableName: tableName('auth-state'), Key: { pk: stateKey(username) }, ReturnValues: 'ALL_OLD' }),
  );
  return out.Attributes !== undefined;
}
