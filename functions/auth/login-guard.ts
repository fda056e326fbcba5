import { isIPv4, isIPv6 } from 'node:net';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { usernameKey } from '#platform/username';

/**
 * Brute-force defences, kept per username in ONE `auth-state` item (`login#<username>`):
 *
 * - failures are counted per username + source address (`pairs[address]`): LOGIN_MAX_FAILURES within 15 minutes
 *   lock that pair — only that pair — for LOCKOUT_SECONDS. An attacker elsewhere locks out only themselves.
 * - a pair may fail at most 2 × LOGIN_MAX_FAILURES times in any hour: the lock after the second round lasts
 *   until the oldest of those failures is an hour old. So one address adds at most that many failures to ...
 * - ... the per-username ceiling: 100 failures within any 3600 s (a rolling hour, from all addresses together)
 *   lock the account for everyone until fewer than 100 are left in the hour (the oldest of the last 100 is an
 *   hour old). It takes at least ⌈100 / (2 × LOGIN_MAX_FAILURES)⌉ addresses (10 by default) within one hour,
 *   and it is a security event an administrator sees and can undo. The count needs no state of its own: it is
 *   the sum over the pairs of their failures within the hour, which the pairs keep anyway (`accountFailures`).
 * - unknown usernames get exactly the same item and treatment, so the responses reveal nothing.
 *
 * An attempt is RESERVED — counted as a failure, locks included — before its password is checked (which takes
 * ~100 ms of Argon2id), in one conditional write that is refused when the pair or account is locked: so
 * concurrent attempts can never check more passwords than the lock allows. A correct password then releases
 * its reservation: the attempt is no failure, and the pair starts over (a successful login resets the pair's
 * counter) — but its earlier failures were failures and still count towards the ceiling.
 *
 * Writes are optimistic (version condition): a lost race re-reads and decides again on the current state.
 * An "address" is an IPv4 address or an IPv6 /64 (one subscriber's network: see `addressKey`).
 */
export const FAILURE_WINDOW_SECONDS = 15 * 60;
export const CEILING_WINDOW_SECONDS = 60 * 60;
export const CEILING_MAX_FAILURES = 100;
/**
 * Bounds the item size under a many-address attack. A failure is only counted while fewer than 100 lie within
 * the hour before it (the 100th locks the account, and a locked account counts nothing), so no rolling hour holds
 * more than 100 failures, and at most 100 pairs hold one: a pair drops its failures once they are an hour old and
 * is deleted when it has none left and no lock (`prune`). So the bound never drops a pair the ceiling still
 * counts; its margin covers clocks of concurrent writers that differ by a little. Were it ever reached, the
 * pairs that matter for the shortest time go first.
 */
const MAX_TRACKED_PAIRS = 250;

/** How many failures one pair may add within an hour: two rounds of LOGIN_MAX_FAILURES. */
export const pairHourlyMaxFailures = () => 2 * config().LOGIN_MAX_FAILURES;

/** The fewest source addresses that can reach the account-wide ceiling within one hour. */
export const addressesForCeiling = () => Math.ceil(CEILING_MAX_FAILURES / pairHourlyMaxFailures());

interface PairState {
  /** Failed (or still being checked) attempts within the last hour, epoch s, oldest first. */
  failures: number[];
  /**
   * Failures within the last hour from before the pair's last correct password, epoch s, oldest first: they no
   * longer count towards the pair's locks (it started over), but they were failures and count towards the ceiling.
   */
  beforeReset?: number[];
  /** Failures before this time do not count towards the 15-minute lock: each lock starts a fresh count. */
  countFrom?: number;
  lockedUntil?: number;
}

interface LoginState {
  pk: string;
  version: number;
  pairs: Record<string, PairState>;
  /** Account-wide lock from the ceiling: until fewer than CEILING_MAX_FAILURES failures are left in the hour. */
  lockedUntil?: number;
  expiresAt: number;
}

export type LockScope = 'pair' | 'account';

/** A reserved password check: counted as a failure unless `releaseAttempt` says the password was right. */
export interface Attempt {
  username: string;
  address: string;
  /** When it was counted as a failure (its entry in its pair's `failures`): a release takes that entry out. */
  at: number;
  /** The lock this attempt set, which stands if the password was wrong (a `lockout` event). */
  locked?: { scope: LockScope; until: number };
}

export type Reservation =
  { locked: false; attempt: Attempt } | { locked: true; scope: LockScope; retryAfterSeconds: number };

const stateKey = (username: string) => `login#${usernameKey(username)}`;

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The address an attempt is counted against. IPv4 as is; IPv6 by its /64 prefix, since one subscriber gets at
 * least a /64 and could otherwise pose as 2^64 "addresses" (the ceiling arithmetic above would be void).
 */
export function addressKey(ip: string): string {
  const plain = ip.trim().replace(/%.*$/, '');
  const mapped = IPV4_MAPPED.exec(plain)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  if (!isIPv6(plain)) return plain;
  const [head = '', tail] = plain.toLowerCase().split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  // A trailing dotted IPv4 part stands for two groups; it can only be in the last 32 bits, never in the /64.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const left = groups(head);
  const right = groups(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - width(left) - width(right)).fill('0');
  const prefix = [...left, ...zeros, ...right].slice(0, 4).map((g) => parseInt(g, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}

async function read(username: string): Promise<LoginState | undefined> {
  const out = await documentDb().send(
    new GetCommand({ TableName: tableName('auth-state'), Key: { pk: stateKey(username) }, ConsistentRead: true }),
  );
  return out.Item as LoginState | undefined;
}

function lockOf(
  state: LoginState,
  address: string,
  now: number,
): { scope: LockScope; retryAfterSeconds: number } | undefined {
  if (state.lockedUntil && state.lockedUntil > now)
    return { scope: 'account', retryAfterSeconds: state.lockedUntil - now };
  const pairLock = state.pairs[address]?.lockedUntil;
  if (pairLock && pairLock > now) return { scope: 'pair', retryAfterSeconds: pairLock - now };
  return undefined;
}

/**
 * Read-modify-write with a version condition; a lost race re-reads and applies the change again. `change`
 * returns false to write nothing (the decision was made on the state just read).
 */
async function mutate(
  username: string,
  now: number,
  change: (state: LoginState, exists: boolean) => boolean,
): Promise<void> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const current = await read(username);
    const state: LoginState = current
      ? withoutFixedHour(structuredClone(current))
      : { pk: stateKey(username), version: 0, pairs: {}, expiresAt: now };
    if (!change(state, current !== undefined)) return;
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
      return;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // Full jitter with a growing ceiling (5 ms doubling up to 500 ms): many addresses failing on one username at
      // once spread out instead of colliding again, and a busy DynamoDB gets room.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(500, 5 * 2 ** attempt)));
    }
  }
  throw new Error('login state: too many concurrent updates');
}

/** An item may carry a fixed-hour count (`hourStart`, `hourFailures`); it is dropped: the ceiling counts the pairs' failures. */
function withoutFixedHour(state: LoginState & { hourStart?: number; hourFailures?: number }): LoginState {
  const { hourStart: _start, hourFailures: _failures, ...rest } = state;
  return rest;
}

const withinHour = (times: number[], now: number) => times.filter((t) => t > now - CEILING_WINDOW_SECONDS);

/**
 * The username's failures within the rolling hour (`now - 3600`, `now`], from all addresses, oldest first: what
 * the ceiling counts. Each pair keeps its failures of the last hour (before and after its last reset) anyway.
 */
function accountFailures(state: LoginState, now: number): number[] {
  return withinHour(
    Object.values(state.pairs).flatMap((p) => [...p.failures, ...(p.beforeReset ?? [])]),
    now,
  ).sort((a, b) => a - b);
}

function prune(state: LoginState, now: number): void {
  for (const [address, pair] of Object.entries(state.pairs)) {
    pair.failures = withinHour(pair.failures, now);
    if (pair.beforeReset) {
      pair.beforeReset = withinHour(pair.beforeReset, now);
      if (pair.beforeReset.length === 0) delete pair.beforeReset;
    }
    if (pair.failures.length === 0 && !pair.beforeReset && !(pair.lockedUntil && pair.lockedUntil > now)) {
      delete state.pairs[address];
    }
  }
  const addresses = Object.keys(state.pairs);
  if (addresses.length > MAX_TRACKED_PAIRS) {
    // Never the case (see MAX_TRACKED_PAIRS); if it were, the pairs whose failures and lock end first go first.
    const mattersUntil = (address: string) => {
      const pair = state.pairs[address];
      const newest = Math.max(pair?.failures.at(-1) ?? 0, pair?.beforeReset?.at(-1) ?? 0);
      return Math.max(newest + CEILING_WINDOW_SECONDS, pair?.lockedUntil ?? 0);
    };
    addresses.sort((a, b) => mattersUntil(a) - mattersUntil(b));
    for (const address of addresses.slice(0, addresses.length - MAX_TRACKED_PAIRS)) delete state.pairs[address];
  }
  const horizon = Math.max(
    now + CEILING_WINDOW_SECONDS,
    state.lockedUntil ?? 0,
    ...Object.values(state.pairs).map((p) => p.lockedUntil ?? 0),
  );
  state.expiresAt = horizon + 60;
}

/** Counts the attempt on its pair; the lock it causes, if any (the 15-minute rule or the pair's hourly budget). */
function countOnPair(pair: PairState, now: number): number | undefined {
  const { LOGIN_MAX_FAILURES, LOCKOUT_SECONDS } = config();
  const hourly = pairHourlyMaxFailures();
  pair.failures = [...pair.failures.filter((t) => t > now - CEILING_WINDOW_SECONDS), now];
  const recent = pair.failures.filter((t) => t > now - FAILURE_WINDOW_SECONDS && t >= (pair.countFrom ?? 0)).length;
  const overHourly = pair.failures.length >= hourly;
  if (recent < LOGIN_MAX_FAILURES && !overHourly) return undefined;
  let until = now + LOCKOUT_SECONDS;
  // The pair's hourly budget is spent: locked until the oldest of those failures leaves the hour.
  if (overHourly)
    until = Math.max(until, (pair.failures[pair.failures.length - hourly] ?? now) + CEILING_WINDOW_SECONDS);
  pair.lockedUntil = until;
  pair.countFrom = until;
  return until;
}

/**
 * Before a password is checked (login, password change): refused while the pair or the account is locked;
 * otherwise the attempt is counted as a failure — and any lock it causes set — in the same conditional write,
 * so at most LOGIN_MAX_FAILURES checks per pair and lock period can ever run, however many arrive at once.
 */
export async function reserveAttempt(username: string, ip: string, now: number): Promise<Reservation> {
  const address = addressKey(ip);
  let reservation: Reservation | undefined;
  await mutate(username, now, (state) => {
    const lock = lockOf(state, address, now);
    if (lock) {
      reservation = { locked: true, ...lock };
      return false;
    }
    let locked: Attempt['locked'];
    const pairUntil = countOnPair((state.pairs[address] ??= { failures: [] }), now);
    if (pairUntil !== undefined) locked = { scope: 'pair', until: pairUntil };
    // The ceiling over the rolling hour, this attempt included: at CEILING_MAX_FAILURES the account locks until
    // the oldest of the last CEILING_MAX_FAILURES failures is an hour old — then fewer are left in the hour.
    const failures = accountFailures(state, now);
    if (failures.length >= CEILING_MAX_FAILURES) {
      state.lockedUntil = (failures[failures.length - CEILING_MAX_FAILURES] ?? now) + CEILING_WINDOW_SECONDS;
      locked = { scope: 'account', until: state.lockedUntil };
    }
    reservation = { locked: false, attempt: { username, address, at: now, ...(locked ? { locked } : {}) } };
    return true;
  });
  if (!reservation) throw new Error('login state: no decision');
  return reservation;
}

/** Takes one entry `at` out of `times`; false if there is none. */
function removeOne(times: number[] | undefined, at: number): boolean {
  const i = times?.lastIndexOf(at) ?? -1;
  if (i >= 0) times?.splice(i, 1);
  return i >= 0;
}

/**
 * The reserved attempt's password was right: the attempt is no failure, so it leaves its pair and with it the
 * ceiling's count — and an account lock it set comes off again. Its pair starts over: its earlier
 * failures no longer count towards the pair's locks, but still towards the ceiling (`beforeReset`). Best effort:
 * contention from an attack on this username must not stop the real user; the reservation then stays a failure.
 */
export async function releaseAttempt(attempt: Attempt, now: number): Promise<void> {
  try {
    await mutate(attempt.username, now, (state, exists) => {
      if (!exists) return false; // unlocked by an administrator meanwhile: nothing left to release
      const pair = state.pairs[attempt.address];
      if (pair) {
        // Not there if a concurrent release of the same pair moved it to `beforeReset` first.
        if (!removeOne(pair.failures, attempt.at)) removeOne(pair.beforeReset, attempt.at);
        const earlier = [...(pair.beforeReset ?? []), ...pair.failures].sort((a, b) => a - b);
        state.pairs[attempt.address] = { failures: [], ...(earlier.length > 0 ? { beforeReset: earlier } : {}) };
      }
      if (
        attempt.locked?.scope === 'account' &&
        state.lockedUntil === attempt.locked.until &&
        accountFailures(state, now).length < CEILING_MAX_FAILURES
      ) {
        delete state.lockedUntil;
      }
      return true;
    });
  } catch {
    // See above: the login goes on.
  }
}

/** POST /users/{id}/unlock: every lock and counter of the username goes. */
export async function unlock(username: string): Promise<boolean> {
  const out = await documentDb().send(
    new DeleteCommand({ TableName: tableName('auth-state'), Key: { pk: stateKey(username) }, ReturnValues: 'ALL_OLD' }),
  );
  return out.Attributes !== undefined;
}

/**
 * The reserved attempt turned out to be no guess: the password was right and the second factor, not yet sent, is
 * asked for next. Its failure entry goes and nothing else changes — unlike `releaseAttempt` the pair does not
 * start over, so asking for the code cannot be used to reset the count of wrong codes. An attempt that set a lock
 * stays counted (undoing a lock is `releaseAttempt`'s, for complete sign-ins only). Best effort, as a release is.
 */
export async function withdrawAttempt(attempt: Attempt, now: number): Promise<void> {
  if (attempt.locked) return;
  try {
    await mutate(attempt.username, now, (state, exists) => {
      if (!exists) return false;
      const pair = state.pairs[attempt.address];
      return pair !== undefined && removeOne(pair.failures, attempt.at);
    });
  } catch {
    // The attempt stays a failure: the sign-in goes on.
  }
}
