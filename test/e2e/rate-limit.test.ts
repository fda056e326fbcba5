import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfig } from '../../functions/shared/config';
import { expectError } from '../support/assertions';
import type { ApiResponse, LocalApi } from '../support/local-api';
import { startLocalApi } from '../support/local-api';
import { type Account, createAccount, signIn, whoAmI } from '../support/security';

/**
 * SPEC §5 API rate limit, per user: RATE_LIMIT_PER_MINUTE requests per minute, then 429 with Retry-After
 * and X-RateLimit-*. A small limit here; the clock is frozen (fake Date — the server runs in this process)
 * inside one window, so a minute boundary can never fall in the middle of a test.
 */
const LIMIT = 5;
process.env.RATE_LIMIT_PER_MINUTE = String(LIMIT);
process.env.LOGIN_RATE_LIMIT_PER_MINUTE = '1000';
resetConfig();

let api: LocalApi;
let alice: Account;
let bob: Account;
let aliceToken: string;
let bobToken: string;
/** Start of a fixed one-minute window (epoch ms) that no request has touched yet. */
let windowStart: number;

beforeAll(async () => {
  api = await startLocalApi();
  alice = await createAccount(api, ['viewer'], 'rl-alice');
  bob = await createAccount(api, ['viewer'], 'rl-bob');
  aliceToken = (await signIn(api, alice)).accessToken;
  bobToken = (await signIn(api, bob)).accessToken;
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
    expect(num(limited, 'retry-after')).toBe(55);
    expect(num(limited, 'x-ratelimit-limit')).toBe(LIMIT);
    expect(num(limited, 'x-ratelimit-remaining')).toBe(0);
    expect(num(limited, 'x-ratelimit-reset')).toBe(resetAt);
  });

  it('the limit holds on every route and for every session of the user', async () => {
    at(10_000);
    expectError(await api.request('/charges', { token: aliceToken }), 429, 'RATE_LIMITED');
    expectError(await api.request('/users/me', { method: 'PATCH', token: aliceToken, body: { displayName: 'x' } }), 429, 'RATE_LIMITED');
    // A second login is the same user: it does not get a fresh allowance.
    const second = await signIn(api, alice);
    const res = await whoAmI(api, second.accessToken);
    expectError(res, 429, 'RATE_LIMITED');
    expect(num(res, 'retry-after')).toBe(50);
  });

  it('a second user is unaffected', async () => {
    at(20_000);
    const res = await whoAmI(api, bobToken);
    expect(res.status, res.text).toBe(200);
    expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - 1);
  });

  it('a refused request changes nothing', async () => {
    at(25_000);
    const res = await api.request('/users/me', { method: 'PATCH', token: aliceToken, body: { displayName: 'changed while limited' } });
    expectError(res, 429, 'RATE_LIMITED');
    at(61_000);
    const me = await whoAmI(api, aliceToken);
    expect(me.status).toBe(200);
    expect((me.json as { displayName?: string }).displayName).toBeUndefined();
  });

  it('the next window gives the full allowance again', async () => {
    at(60_000 + 30_000);
    const res = await api.request('/charges', { token: aliceToken });
    expect(res.status, res.text).toBe(200);
    // One request of this window was spent by the previous test.
    expect(num(res, 'x-ratelimit-remaining')).toBe(LIMIT - 2);
  });
});
