import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import type { ApiResponse, LocalApi } from '#test/support/local-api';
import { startLocalApi } from '#test/support/local-api';
import { signIn, whoAmI } from '#test/support/security';
import { type Account, createAccount } from '#test/support/users';
import { stubEnvForAll } from '#test/support/env';

/**
 * The API rate limit, per user: RATE_LIMIT_PER_MINUTE requests per minute, then 429 with Retry-After
 * and X-RateLimit-*. A small limit here; the clock is frozen (fake Date — the server runs in this process)
 * at chosen points, so every test knows where the minute boundaries fall.
 *
 * The count is a sliding-window estimate (this minute's requests plus the last minute's, weighted by how
 * much of it is still within the last 60 s), so the expected numbers below follow that arithmetic.
 */
const LIMIT = 5;
stubEnvForAll({ RATE_LIMIT_PER_MINUTE: String(LIMIT), LOGIN_RATE_LIMIT_PER_MINUTE: '1000' });

let api: LocalApi;
let alice: Account;
let bob: Account;
let carol: Account;
let aliceToken: string;
let bobToken: string;
let carolToken: string;
/** Start of a fixed one-minute window (epoch ms) that no request has touched yet. */
let windowStart: number;

beforeAll(async () => {
  api = await startLocalApi();
  alice = await createAccount(api, ['viewer'], 'rl-alice');
  bob = await createAccount(api, ['viewer'], 'rl-bob');
  carol = await createAccount(api, ['viewer'], 'rl-carol');
  aliceToken = (await signIn(api, alice)).accessToken;
  bobToken = (await signIn(api, bob)).accessToken;
  carolToken = (await signIn(api, carol)).accessToken;
  windowStart = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
});
afterAll(() => api.stop());
afterEach(() => {
  vi.useRealTimers();
});

const at = (msIntoWindow: number) => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(windowStart + msIntoWindow);
};
const num = (res: ApiResponse, name: string) => Number(res.headers[name]);

describe('per-user API rate limit', () => {
  it(`request ${LIMIT + 1} within a minute → 429 RATE_LIMITED with Retry-After and X-RateLimit-*; the ones before count down`, async () => {
    at(5_000);
    const resetAt = windowStart / 1000 + 60;
    for (let i = 1; i <= LIMIT; i++) {
      const res = await whoAmI(api, aliceToken);
      expect(res.status, res.text).toBe(200);
      expect(num(res, 'x-ratelimit-limit')).toBe(LIMIT);
      expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - i);
      expect(num(res, 'x-ratelimit-reset')).toBe(resetAt);
    }
    const limited = await whoAmI(api, aliceToken);
    expectError(limited, 429, 'RATE_LIMITED');
    // Six requests (the refused one counts too) this minute: the next one fits once the minute is over AND this
    // minute's five allowed ones weigh at most four, i.e. 12 s (60 / LIMIT) into the next minute.
    expect(num(limited, 'retry-after')).toBe(60 - 5 + 12);
    expect(num(limited, 'x-ratelimit-limit')).toBe(LIMIT);
    expect(num(limited, 'x-ratelimit-remaining')).toBe(0);
    // On a 429, X-RateLimit-Reset is when the next request is allowed: now + Retry-After.
    expect(num(limited, 'x-ratelimit-reset')).toBe(resetAt + 12);
  });

  it('the limit holds on every route and for every session of the user', async () => {
    at(10_000);
    expectError(await api.request('/charges', { token: aliceToken }), 429, 'RATE_LIMITED');
    expectError(
      await api.request('/users/me', { method: 'PATCH', token: aliceToken, body: { displayName: 'x' } }),
      429,
      'RATE_LIMITED',
    );
    // A second login is the same user: it does not get a fresh allowance.
    const second = await signIn(api, alice);
    const res = await whoAmI(api, second.accessToken);
    expectError(res, 429, 'RATE_LIMITED');
    expect(num(res, 'retry-after')).toBe(60 - 10 + 12);
  });

  it('a second user is unaffected', async () => {
    at(20_000);
    const res = await whoAmI(api, bobToken);
    expect(res.status, res.text).toBe(200);
    expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - 1);
  });

  it('a refused request changes nothing; the next request at Retry-After passes', async () => {
    at(25_000);
    const res = await api.request('/users/me', {
      method: 'PATCH',
      token: aliceToken,
      body: { displayName: 'changed while limited' },
    });
    expectError(res, 429, 'RATE_LIMITED');
    const retryAfter = num(res, 'retry-after');
    expect(retryAfter).toBe(60 - 25 + 12);
    at(25_000 + retryAfter * 1000);
    const me = await whoAmI(api, aliceToken);
    expect(me.status, me.text).toBe(200);
    expect((me.json as { displayName?: string }).displayName).toBeUndefined();
    // 4 (the last minute's 5, 48 of 60 s still in the window) + 1 = 5: allowed, and nothing left.
    expect(num(me, 'x-ratelimit-remaining')).toBe(0);
  });

  it('after a quiet minute the full allowance is back', async () => {
    at(180_000 + 5_000);
    const res = await api.request('/charges', { token: aliceToken });
    expect(res.status, res.text).toBe(200);
    expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - 1);
    expect(num(res, 'x-ratelimit-reset')).toBe(windowStart / 1000 + 240);
  });
});

describe('a burst across a minute boundary', () => {
  it('gets no second allowance: at most LIMIT pass from 1 s before to 1 s after the boundary (a fixed window would let 2 × LIMIT through)', async () => {
    const boundary = 600_000; // a minute boundary no other test comes near
    const burst = async () => {
      const statuses: number[] = [];
      // One after another, so the order (and the last answer's Retry-After) is deterministic.
      for (let i = 0; i < 2 * LIMIT; i++) statuses.push((await whoAmI(api, carolToken)).status);
      return statuses;
    };
    at(boundary - 1_000);
    const before = await burst();
    at(boundary + 1_000);
    const after = await burst();
    const passed = [...before, ...after].filter((s) => s === 200).length;
    expect(before.filter((s) => s === 200)).toHaveLength(LIMIT);
    // The estimate: 5 × 59/60 of the last minute is still in the window, so nothing more fits 1 s in.
    expect(after.filter((s) => s === 200)).toHaveLength(0);
    expect(passed).toBe(LIMIT);
    expect([...before.slice(LIMIT), ...after].every((s) => s === 429)).toBe(true);
  });

  it('Retry-After and X-RateLimit-Reset say when the next request passes, and it does', async () => {
    const boundary = 600_000;
    at(boundary + 2_000);
    const limited = await whoAmI(api, carolToken);
    expectError(limited, 429, 'RATE_LIMITED');
    const retryAfter = num(limited, 'retry-after');
    expect(num(limited, 'x-ratelimit-reset')).toBe((windowStart + boundary + 2_000) / 1000 + retryAfter);
    // Eleven requests this minute: nothing fits before the next one, and there 12 s (60 / LIMIT) must pass first.
    expect(retryAfter).toBe(58 + 12);
    at(boundary + 2_000 + retryAfter * 1000);
    const next = await whoAmI(api, carolToken);
    expect(next.status, next.text).toBe(200);
    expect(num(next, 'x-ratelimit-remaining')).toBe(0);
    // …and it was the only one that fitted.
    expectError(await whoAmI(api, carolToken), 429, 'RATE_LIMITED');
  });

  it('halfway through the next minute, half of the last minute still counts', async () => {
    const boundary = 720_000; // (tokens live 900 s from the real time of beforeAll)
    at(boundary - 30_000);
    for (let i = 0; i < LIMIT - 1; i++) expect((await whoAmI(api, bobToken)).status).toBe(200);
    at(boundary + 30_000);
    // Estimate after this request: 4 × 30/60 + 1 = 3 → 2 remaining (a fixed window would say 4).
    const res = await whoAmI(api, bobToken);
    expect(res.status).toBe(200);
    expect(num(res, 'x-ratelimit-remaining')).toBe(2);
  });
});

describe('rate limit and missing permissions (every authenticated answer carries X-RateLimit-*)', () => {
  it('a 403 for a missing permission carries X-RateLimit-* and counts; once the limit is spent the answer is 429, not 403', async () => {
    const dave = await createAccount(api, ['viewer'], 'rl-dave');
    const daveToken = (await signIn(api, dave)).accessToken;
    at(2 * 60_000 + 5_000);
    const resetAt = windowStart / 1000 + 3 * 60;
    for (let i = 1; i <= LIMIT; i++) {
      // A viewer has no audit:read: the authorizer denies, and the 403 still shows the window counting down.
      const res = await api.request('/audit', { token: daveToken });
      expectError(res, 403, 'FORBIDDEN');
      expect(num(res, 'x-ratelimit-limit')).toBe(LIMIT);
      expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - i);
      expect(num(res, 'x-ratelimit-reset')).toBe(resetAt);
    }
    const throttled = await api.request('/audit', { token: daveToken });
    expectError(throttled, 429, 'RATE_LIMITED');
    expect(num(throttled, 'retry-after')).toBeGreaterThan(0);
    expect(num(throttled, 'x-ratelimit-remaining')).toBe(0);
    // Throttled on an allowed route too: the denied requests counted against the same window.
    expectError(await whoAmI(api, daveToken), 429, 'RATE_LIMITED');
  });
});

describe('refused tokens do not spend their owner’s allowance', () => {
  const ATTEMPTS = 13 * LIMIT; // 65: far past the limit, as whoever holds a stolen token can go

  async function hammer(token: string): Promise<void> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const res = await whoAmI(api, token);
      // Still the plain 401 of a dead token: never a 429.
      expect(res.status, res.text).toBe(401);
    }
  }

  /** The owner's next session: its first request passes, with nothing gone but the owner's own `spent` (not a 429). */
  async function expectFullAllowance(account: Account, spent = 0): Promise<void> {
    const res = await whoAmI(api, (await signIn(api, account)).accessToken);
    expect(res.status, res.text).toBe(200);
    expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - spent - 1);
  }

  // Each test in a minute of its own with a quiet one before it: the admin's requests count against its limit too.
  it(`${13 * LIMIT} requests with a logged-out token → all 401; the owner's fresh login then gets 200, not 429`, async () => {
    // Prepare
    at(4 * 60_000 + 5_000);
    const erin = await createAccount(api, ['viewer'], 'rl-erin');
    const stolen = await signIn(api, erin);
    const out = await api.request('/auth/logout', { method: 'POST', token: stolen.accessToken });
    expect(out.status, out.text).toBe(204);

    // Act
    await hammer(stolen.accessToken);

    // Assess (the logout was erin's own request)
    await expectFullAllowance(erin, 1);
  });

  it('the same for a token whose session an admin ended (revoke-tokens)', async () => {
    // Prepare
    at(6 * 60_000 + 5_000);
    const frank = await createAccount(api, ['viewer'], 'rl-frank');
    const old = await signIn(api, frank);
    // A millisecond on: a session that began in the revocation's own millisecond survives it.
    at(6 * 60_000 + 5_001);
    expect(
      (await api.request(`/users/${frank.userId}/revoke-tokens`, { method: 'POST', token: await adminToken(api) }))
        .status,
    ).toBe(204);

    // Act
    await hammer(old.accessToken);

    // Assess
    at(6 * 60_000 + 5_002);
    await expectFullAllowance(frank);
  });

  it('the same for the token of a user who was disabled (and is enabled again)', async () => {
    // Prepare
    at(8 * 60_000 + 5_000);
    const admin = await adminToken(api);
    const grace = await createAccount(api, ['viewer'], 'rl-grace');
    const old = await signIn(api, grace);
    expect(
      (
        await api.request(`/users/${grace.userId}`, {
          method: 'PATCH',
          token: admin,
          body: { reason: 'Test change', disabled: true },
        })
      ).status,
    ).toBe(200);

    // Act
    await hammer(old.accessToken);

    // Assess
    expect(
      (
        await api.request(`/users/${grace.userId}`, {
          method: 'PATCH',
          token: admin,
          body: { reason: 'Test change', disabled: false },
        })
      ).status,
    ).toBe(200);
    await expectFullAllowance(grace);
  });
});
