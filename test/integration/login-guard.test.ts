import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Attempt,
  CEILING_MAX_FAILURES,
  CEILING_WINDOW_SECONDS,
  releaseAttempt,
  reserveAttempt,
  type Reservation,
} from '#auth/login-guard';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { createTables } from '#test/support/streams';

/**
 * The lockout state of `functions/auth/login-guard.ts` driven directly, with explicit clocks and without
 * Argon2 (test/e2e/auth-login.test.ts drives the same code through HTTP). Pair rules stay out of the way by
 * spreading failures over many addresses.
 */

const T0 = 1_800_000_000;
let addressCounter = 0;
const freshAddress = () => `198.51.${Math.floor(addressCounter / 250)}.${(addressCounter++ % 250) + 1}`;
const freshUsername = () => `guard-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  await createTables();
});

function accepted(reservation: Reservation): Attempt {
  if (reservation.locked)
    throw new Error(`unexpectedly locked (${reservation.scope}, ${reservation.retryAfterSeconds} s)`);
  return reservation.attempt;
}

/** `count` failures at `now`, each from an address of its own. */
async function failures(username: string, count: number, now: number): Promise<Attempt[]> {
  const out: Attempt[] = [];
  for (let i = 0; i < count; i++) out.push(accepted(await reserveAttempt(username, freshAddress(), now)));
  return out;
}

async function stateItem(username: string): Promise<Record<string, unknown>> {
  const out = await documentDb().send(
    new GetCommand({ TableName: tableName('auth-state'), Key: { pk: `login#${username}` }, ConsistentRead: true }),
  );
  return out.Item ?? {};
}

describe('the per-username ceiling counts a rolling hour', () => {
  it('failures at the end of one hour and the start of the next add up: the 100th within 3600 s locks', async () => {
    const username = freshUsername();
    // One failure at T0 (where a fixed hour would begin), 98 late in that hour.
    await failures(username, 1, T0);
    await failures(username, CEILING_MAX_FAILURES - 2, T0 + 3000);
    // Still within T0's hour, the 100th would lock (the T0 failure counts).
    const still = accepted(await reserveAttempt(username, freshAddress(), T0 + 3599));
    expect(still.locked).toEqual({ scope: 'account', until: T0 + CEILING_WINDOW_SECONDS });
    await releaseAttempt(still, T0 + 3599); // a right password: given back, and its lock with it

    // At T0 + 3600 the T0 failure has left the hour: 98 count, so one more is the 99th …
    const t = T0 + 3600;
    expect((await failures(username, 1, t))[0]?.locked).toBeUndefined();
    // … and the next the 100th: locked until the oldest of the last 100 (T0 + 3000) is an hour old.
    const hundredth = (await failures(username, 1, t))[0];
    expect(hundredth?.locked).toEqual({ scope: 'account', until: T0 + 3000 + CEILING_WINDOW_SECONDS });
    expect(await reserveAttempt(username, freshAddress(), t + 1)).toEqual({
      locked: true,
      scope: 'account',
      retryAfterSeconds: T0 + 3000 + CEILING_WINDOW_SECONDS - (t + 1),
    });
    expect((await reserveAttempt(username, freshAddress(), T0 + 6599)).locked).toBe(true);
    expect((await reserveAttempt(username, freshAddress(), T0 + 6600)).locked).toBe(false);
  });

  it(
    'no 3600 s ever hold more than 100 failures, a full window refuses, and at most 100 pairs are tracked',
    { timeout: 120_000 },
    async () => {
      // A sustained attack from ever new addresses over four hours, in bursts of random size at random gaps (a
      // fixed seed): every accepted attempt is a failure. Whatever the timing, no 3600 s may hold more than
      // CEILING_MAX_FAILURES of them — and whenever the account refuses, the hour before is full.
      const username = freshUsername();
      let seed = 42;
      const random = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed % n;
      };
      const counted: number[] = [];
      const inHourBefore = (now: number) => counted.filter((t) => t > now - CEILING_WINDOW_SECONDS);
      let refused = 0;
      let maxPairs = 0;
      for (let now = T0; now < T0 + 4 * 3600; now += 1 + random(300)) {
        for (let burst = random(15); burst > 0; burst--) {
          const reservation = await reserveAttempt(username, freshAddress(), now);
          const window = inHourBefore(now);
          if (reservation.locked) {
            refused++;
            expect(reservation.scope).toBe('account');
            expect(window).toHaveLength(CEILING_MAX_FAILURES);
            // Retry-After: when the oldest of them leaves the hour.
            expect(reservation.retryAfterSeconds).toBe((window[0] as number) + CEILING_WINDOW_SECONDS - now);
          } else {
            expect(window.length).toBeLessThan(CEILING_MAX_FAILURES);
            counted.push(now);
          }
        }
        maxPairs = Math.max(maxPairs, Object.keys((await stateItem(username)).pairs ?? {}).length);
      }
      expect(refused).toBeGreaterThan(100);
      for (const t of counted) {
        expect(counted.filter((u) => u > t - CEILING_WINDOW_SECONDS && u <= t).length).toBeLessThanOrEqual(
          CEILING_MAX_FAILURES,
        );
      }
      expect(maxPairs).toBeLessThanOrEqual(CEILING_MAX_FAILURES);
    },
  );
});

describe('a right password', () => {
  it('gives its attempt back, resets its pair — and the pair’s earlier failures still count towards the ceiling', async () => {
    const max = config().LOGIN_MAX_FAILURES;
    const username = freshUsername();
    const home = freshAddress();
    const now = T0 + 10_000;
    // The user's own typos, then the right password from the same address.
    for (let i = 0; i < max - 1; i++) accepted(await reserveAttempt(username, home, now));
    await releaseAttempt(accepted(await reserveAttempt(username, home, now)), now);
    // The pair started over: max − 1 more failures from there lock nothing.
    for (let i = 0; i < max - 1; i++)
      expect(accepted(await reserveAttempt(username, home, now + 1)).locked).toBeUndefined();
    // 2 × (max − 1) failures so far. The ceiling counts all of them: with the rest from elsewhere, the 100th locks.
    await failures(username, CEILING_MAX_FAILURES - 2 * (max - 1) - 1, now + 2);
    const hundredth = accepted(await reserveAttempt(username, freshAddress(), now + 3));
    expect(hundredth.locked).toEqual({ scope: 'account', until: now + CEILING_WINDOW_SECONDS });

    // Were the 100th a right password, its release lifts the lock it set (and the next attempt is the 100th again).
    await releaseAttempt(hundredth, now + 3);
    expect((await stateItem(username)).lockedUntil).toBeUndefined();
    const again = accepted(await reserveAttempt(username, freshAddress(), now + 4));
    expect(again.locked?.scope).toBe('account');
    expect((await reserveAttempt(username, freshAddress(), now + 5)).locked).toBe(true);
  });
});

describe('state from before the rolling hour', () => {
  it('drops the fixed hour’s count and counts the pairs’ failures', async () => {
    const username = freshUsername();
    const pairs = Object.fromEntries(
      Array.from({ length: 9 }, () => [freshAddress(), { failures: [T0, T0 + 1, T0 + 2, T0 + 3] }]),
    );
    await documentDb().send(
      new PutCommand({
        TableName: tableName('auth-state'),
        Item: { pk: `login#${username}`, version: 3, pairs, hourStart: T0, hourFailures: 36, expiresAt: T0 + 7200 },
      }),
    );
    await failures(username, CEILING_MAX_FAILURES - 36 - 1, T0 + 100);
    const item = await stateItem(username);
    expect(item).not.toHaveProperty('hourStart');
    expect(item).not.toHaveProperty('hourFailures');
    expect(accepted(await reserveAttempt(username, freshAddress(), T0 + 100)).locked).toEqual({
      scope: 'account',
      until: T0 + CEILING_WINDOW_SECONDS,
    });
  });
});
