import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { addressesForCeiling, CEILING_MAX_FAILURES, pairHourlyMaxFailures } from '#auth/login-guard';
import { forEachConcurrently } from '#platform/concurrency';
import { config } from '#platform/config';
import { expectError, expectSecurityHeaders } from '#test/support/assertions';
import { adminToken, login } from '#test/support/auth';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type ApiResponse, type LocalApi, startLocalApi } from '#test/support/local-api';
import { scanAll } from '#test/support/streams';
import { CLIENT_ADDRESS_HEADER } from '#local/dev-protocol';

/**
 * Fake clock times for these tests: days from the next UTC midnight, at a time of day. Always in the future of the
 * real clock, because DynamoDB Local deletes items whose TTL has passed by the real clock, and the lockout counters
 * written at a fake time in the past would vanish mid-test.
 */
const NEXT_MIDNIGHT = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
const at = (day: number, time: string) => NEXT_MIDNIGHT + day * 86_400_000 + Date.parse(`1970-01-01T${time}Z`);

let api: LocalApi;
let ipCounter = 10;
/** Every test gets loopback source addresses of its own, so per-IP counters never leak between tests. */
const freshIp = () => `127.0.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 2}`;

beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(() => api.stop());
afterEach(() => {
  vi.useRealTimers();
});

const attempt = (username: string, password: string, ip: string) =>
  api.request('/auth/login', { method: 'POST', body: { username, password }, localAddress: ip });

async function fail(user: { username: string }, times: number, ip: string) {
  for (let i = 0; i < times; i++) {
    const res = await attempt(user.username, 'definitely-the-wrong-password', ip);
    expect(res.status, res.text).toBe(401);
  }
}

/**
 * The addresses' failures, four addresses at a time: concurrent updates of one username's lockout state, without
 * ten-way contention that, on a starved machine, outlasts DynamoDB Local's request timeout (a 503 whose attempt may
 * or may not have counted).
 */
const failFrom = (ips: string[], failures: (ip: string) => Promise<void>) => forEachConcurrently(ips, 4, failures);

const countStatuses = (responses: ApiResponse[]) =>
  responses.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});

/** The `login.failure` audit records of a username (a known user's chain, or `login/<name>` for unknown ones). */
async function failureRecords(entityKey: string): Promise<number> {
  const items = (await scanAll('audit')) as Array<{ entityKey: string; action: string }>;
  return items.filter((i) => i.entityKey === entityKey && i.action === 'login.failure').length;
}

describe('login', () => {
  it('returns a bearer access token (RS256 JWT with kid) and an opaque refresh token', async () => {
    const user = await userWithRoles(api, ['viewer']);
    const res = await attempt(user.username, user.password, freshIp());
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const body = res.json as { accessToken: string; refreshToken: string; tokenType: string; expiresIn: number };
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
    });
    const [header, payload] = body.accessToken
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload).toMatchObject({ sub: user.userId, username: user.username, type: 'access', roles: ['viewer'] });
    expect(payload.exp - payload.iat).toBe(900);
    expect(body.refreshToken).not.toContain('.');
    expect(Buffer.from(body.refreshToken, 'base64url').length).toBeGreaterThanOrEqual(32);
  });

  it('answers a wrong password and an unknown username with the same 401', async () => {
    const user = await userWithRoles(api, ['viewer']);
    const ip = freshIp();
    const wrongPassword = await attempt(user.username, 'not-the-password-at-all', ip);
    const unknownUser = await attempt('nobody-by-this-name', 'not-the-password-at-all', ip);
    const a = expectError(wrongPassword, 401, 'UNAUTHORIZED');
    const b = expectError(unknownUser, 401, 'UNAUTHORIZED');
    const strip = ({ id: _id, timestamp: _ts, ...rest }: Record<string, unknown>) => rest;
    expect(strip(a)).toEqual(strip(b));
    expect(wrongPassword.headers['www-authenticate']).toBe(unknownUser.headers['www-authenticate']);
    expect(Object.keys(wrongPassword.headers).sort()).toEqual(Object.keys(unknownUser.headers).sort());
  });
});

describe('lockout per username + source IP', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await userWithRoles(api, ['operator']);
  });

  it('locks the pair after LOGIN_MAX_FAILURES failures — even the right password gets 423 — until LOCKOUT_SECONDS pass', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at(0, '10:00:00'));
    const attackerIp = freshIp();
    await fail(user, 5, attackerIp);

    const locked = await attempt(user.username, user.password, attackerIp);
    expectError(locked, 423, 'ACCOUNT_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(300);

    // The same user from another address is not affected: the attacker locked out only themselves.
    const elsewhere = await attempt(user.username, user.password, freshIp());
    expect(elsewhere.status).toBe(200);

    vi.setSystemTime(at(0, '10:04:59'));
    expectError(await attempt(user.username, user.password, attackerIp), 423, 'ACCOUNT_LOCKED');
    vi.setSystemTime(at(0, '10:05:01'));
    expect((await attempt(user.username, user.password, attackerIp)).status).toBe(200);
  });

  it('counts unknown usernames exactly like known ones', async () => {
    const ip = freshIp();
    const ghost = { username: 'ghost-user-that-does-not-exist' };
    await fail(ghost, 5, ip);
    expectError(await attempt(ghost.username, 'anything-at-all-here', ip), 423, 'ACCOUNT_LOCKED');
  });

  it('resets the pair counter on a successful login', async () => {
    const ip = freshIp();
    await fail(user, 4, ip);
    expect((await attempt(user.username, user.password, ip)).status).toBe(200);
    await fail(user, 4, ip);
    expect((await attempt(user.username, user.password, ip)).status).toBe(200);
  });

  it('applies on the password-change path too', async () => {
    const victim = await userWithRoles(api, ['viewer']);
    const ip = freshIp();
    const tokens = await login(api, victim.username, victim.password, ip);
    for (let i = 0; i < 5; i++) {
      const res = await api.request('/users/me/password', {
        method: 'POST',
        token: tokens.accessToken,
        localAddress: ip,
        body: { currentPassword: 'wrong-current-password', newPassword: 'a-brand-new-password-42' },
      });
      // 403, not 401: the session is fine, only the password was wrong (and it still counts for lockout).
      expectError(res, 403, 'FORBIDDEN');
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
    const locked = await api.request('/users/me/password', {
      method: 'POST',
      token: tokens.accessToken,
      localAddress: ip,
      body: { currentPassword: victim.password, newPassword: 'a-brand-new-password-42' },
    });
    expectError(locked, 423, 'ACCOUNT_LOCKED');
    expectError(await attempt(victim.username, victim.password, ip), 423, 'ACCOUNT_LOCKED');
  });

  it('is lifted for every address by POST /users/{id}/unlock', async () => {
    const victim = await userWithRoles(api, ['viewer']);
    const ip = freshIp();
    await fail(victim, 5, ip);
    expectError(await attempt(victim.username, victim.password, ip), 423, 'ACCOUNT_LOCKED');
    const unlock = await api.request(`/users/${victim.userId}/unlock`, {
      method: 'POST',
      token: await adminToken(api),
    });
    expect(unlock.status).toBe(204);
    expect((await attempt(victim.username, victim.password, ip)).status).toBe(200);
  });
});

describe('concurrent attempts (the lock is reserved before the password is checked)', () => {
  const BURST = 15;

  it.each([
    ['a known username', true],
    ['an unknown username', false],
  ])(
    `${BURST} parallel wrong logins from one address for %s: at most LOGIN_MAX_FAILURES passwords are checked`,
    async (_name, known) => {
      const max = config().LOGIN_MAX_FAILURES;
      const target = known
        ? await userWithRoles(api, ['viewer'])
        : { username: `ghost-burst-${randomBytes(4).toString('hex')}`, userId: undefined };
      const ip = freshIp();
      const responses = await Promise.all(
        Array.from({ length: BURST }, () => attempt(target.username, 'parallel-wrong-password', ip)),
      );
      // Before the fix all 15 got 401: every one had read "not locked" before the first failure was written.
      expect(countStatuses(responses)).toEqual({ 401: max, 423: BURST - max });
      for (const res of responses.filter((r) => r.status === 423)) expectError(res, 423, 'ACCOUNT_LOCKED');
      // What the audit trail says about it: exactly `max` checked-and-failed passwords.
      const key = target.userId ? `user#${target.userId}` : `login#${target.username}`;
      expect(await failureRecords(key)).toBe(max);
      // The right password from that address is refused too; from another address it works.
      if ('password' in target) {
        expectError(await attempt(target.username, target.password, ip), 423, 'ACCOUNT_LOCKED');
        expect((await attempt(target.username, target.password, freshIp())).status).toBe(200);
      }
    },
  );

  it('the same holds on POST /users/me/password: parallel wrong current passwords, at most LOGIN_MAX_FAILURES checked', async () => {
    const max = config().LOGIN_MAX_FAILURES;
    const victim = await userWithRoles(api, ['viewer']);
    const ip = freshIp();
    const responses = await Promise.all(
      Array.from({ length: BURST }, () =>
        api.request('/users/me/password', {
          method: 'POST',
          token: victim.token,
          localAddress: ip,
          body: { currentPassword: 'parallel-wrong-current', newPassword: 'a-brand-new-password-42' },
        }),
      ),
    );
    expect(countStatuses(responses)).toEqual({ 403: max, 423: BURST - max });
    expect(await failureRecords(`user#${victim.userId}`)).toBe(max);
  });
});

describe('one address against the account-wide ceiling', () => {
  it('may fail at most 2 × LOGIN_MAX_FAILURES times an hour: the second lock lasts until the first failures are an hour old', async () => {
    const max = config().LOGIN_MAX_FAILURES;
    const lockout = config().LOCKOUT_SECONDS;
    const victim = await userWithRoles(api, ['viewer']);
    const ip = freshIp();
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = at(4, '10:00:00');
    vi.setSystemTime(t0);
    await fail(victim, max, ip);
    expectError(await attempt(victim.username, victim.password, ip), 423, 'ACCOUNT_LOCKED');

    // The first lock lasts LOCKOUT_SECONDS; then a second round.
    vi.setSystemTime(t0 + (lockout + 1) * 1000);
    await fail(victim, max, ip);
    const second = await attempt(victim.username, victim.password, ip);
    expectError(second, 423, 'ACCOUNT_LOCKED');
    expect(Number(second.headers['retry-after'])).toBe(3600 - (lockout + 1));

    // Where a pair's count simply restarted, this address would now fail again (60 failures an hour, 2 addresses
    // for the ceiling). It stays locked until the first round is an hour old…
    vi.setSystemTime(t0 + (2 * lockout + 2) * 1000);
    expectError(await attempt(victim.username, victim.password, ip), 423, 'ACCOUNT_LOCKED');
    // …while the account is open to everyone else.
    expect((await attempt(victim.username, victim.password, freshIp())).status).toBe(200);
    vi.setSystemTime(t0 + 3600 * 1000);
    expect((await attempt(victim.username, victim.password, ip)).status).toBe(200);
  });
});

describe('per-username ceiling', () => {
  it(
    `locks the account for everyone at ${CEILING_MAX_FAILURES} failures in an hour — which takes ${addressesForCeiling()} addresses`,
    { timeout: 180_000 },
    async () => {
      const victim = await userWithRoles(api, ['viewer']);
      const max = config().LOGIN_MAX_FAILURES;
      const perAddress = pairHourlyMaxFailures();
      expect(perAddress).toBe(2 * max);
      expect(addressesForCeiling()).toBe(Math.ceil(CEILING_MAX_FAILURES / perAddress));
      const ips = Array.from({ length: addressesForCeiling() }, freshIp);
      const last = ips.at(-1) as string;

      vi.useFakeTimers({ toFake: ['Date'] });
      const t0 = at(5, '10:00:00');
      vi.setSystemTime(t0);
      // Every address spends its whole hourly budget: two rounds, LOCKOUT_SECONDS apart. Several addresses at once,
      // so the concurrent updates of the username's lockout state are exercised too: every failure must count.
      await failFrom(ips, (ip) => fail(victim, max, ip));
      vi.setSystemTime(t0 + (config().LOCKOUT_SECONDS + 1) * 1000);
      await failFrom(ips, (ip) => fail(victim, ip === last ? max - 1 : max, ip));

      // One failure short of the ceiling: the account is open from anywhere else.
      expect(ips.length * perAddress - 1).toBe(CEILING_MAX_FAILURES - 1);
      expect((await attempt(victim.username, victim.password, freshIp())).status).toBe(200);

      // The hundredth locks it for everyone.
      expect((await attempt(victim.username, 'definitely-the-wrong-password', last)).status).toBe(401);
      const fromAnywhere = await attempt(victim.username, victim.password, freshIp());
      expectError(fromAnywhere, 423, 'ACCOUNT_LOCKED');
      expect(Number(fromAnywhere.headers['retry-after'])).toBe(3600 - (config().LOCKOUT_SECONDS + 1));
    },
  );

  it(
    `counts a rolling hour: ${CEILING_MAX_FAILURES - 1} failures late in one hour and more right after it lock the account at the ${CEILING_MAX_FAILURES}th`,
    { timeout: 180_000 },
    async () => {
      // A fixed hour from the first failure would let ~99 failures at its end and ~99 more at the start of the
      // next one through, ~200 within minutes. Any 3600 s holding 100 lock.
      const victim = await userWithRoles(api, ['viewer']);
      const max = config().LOGIN_MAX_FAILURES;
      const lockout = config().LOCKOUT_SECONDS;
      const perAddress = pairHourlyMaxFailures();
      const ips = Array.from({ length: addressesForCeiling() }, freshIp);
      const last = ips.at(-1) as string;

      vi.useFakeTimers({ toFake: ['Date'] });
      const t0 = at(6, '10:00:00');
      // The first failure, which would open a fixed hour (10:00–11:00).
      vi.setSystemTime(t0);
      await fail(victim, 1, freshIp());
      // Late in that hour, from addressesForCeiling() addresses at once: two rounds each, the last one two short.
      const t1 = t0 + 3000 * 1000;
      vi.setSystemTime(t1);
      await failFrom(ips, (ip) => fail(victim, max, ip));
      vi.setSystemTime(t1 + (lockout + 1) * 1000);
      await failFrom(ips, (ip) => fail(victim, ip === last ? max - 2 : max, ip));
      expect(1 + ips.length * perAddress - 2).toBe(CEILING_MAX_FAILURES - 1);
      // 99 within the hour: open from anywhere else.
      expect((await attempt(victim.username, victim.password, freshIp())).status).toBe(200);

      // 11:00:00 — the 10:00:00 failure is an hour old and out of the count: 98. (The old code started a new hour
      // here, at 0.) One more failure makes 99, and the account is still open…
      const t2 = t0 + 3600 * 1000;
      vi.setSystemTime(t2);
      const next = freshIp();
      await fail(victim, 1, next);
      expect((await attempt(victim.username, victim.password, freshIp())).status).toBe(200);
      // …the next is the 100th within 3600 s (10:50:00–11:00:00) and locks it for everyone.
      await fail(victim, 1, next);
      const fromAnywhere = await attempt(victim.username, victim.password, freshIp());
      expectError(fromAnywhere, 423, 'ACCOUNT_LOCKED');
      // Until fewer than 100 are left in the hour: when the 10:50:00 failures are an hour old, at 11:50:00.
      const until = t1 + 3600 * 1000;
      expect(Number(fromAnywhere.headers['retry-after'])).toBe((until - t2) / 1000);
      const items = (await scanAll('audit')) as Array<{
        entityKey: string;
        action: string;
        changes?: { scope?: { to?: unknown } };
      }>;
      const lockouts = items.filter((i) => i.entityKey === `user#${victim.userId}` && i.action === 'lockout');
      expect(lockouts.filter((i) => i.changes?.scope?.to === 'account')).toHaveLength(1);

      vi.setSystemTime(until - 1000);
      expectError(await attempt(victim.username, victim.password, freshIp()), 423, 'ACCOUNT_LOCKED');
      vi.setSystemTime(until);
      expect((await attempt(victim.username, victim.password, freshIp())).status).toBe(200);
    },
  );
});

describe('per-source-IP login limit', () => {
  it('answers 429 with Retry-After past LOGIN_RATE_LIMIT_PER_MINUTE attempts from one address', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at(1, '08:00:05'));
    const ip = freshIp();
    // Different usernames, so no lockout gets in the way: this is the address's own budget.
    for (let i = 0; i < 20; i++) {
      const res = await attempt(`spray-${i}`, 'password-spraying-attempt', ip);
      expect(res.status).toBe(401);
    }
    const limited = await attempt('spray-21', 'password-spraying-attempt', ip);
    expectError(limited, 429, 'RATE_LIMITED');
    // A sliding window: past the minute's end, this minute's 20 still weigh until 3 s (60 / 20) into the next.
    expect(Number(limited.headers['retry-after'])).toBe(55 + 3);
    // Another address still has its budget.
    expect((await attempt('spray-22', 'password-spraying-attempt', freshIp())).status).toBe(401);
    // Not a fresh 20 at the boundary (a fixed window allowed 40 within seconds): at Retry-After, one.
    vi.setSystemTime(at(1, '08:01:03'));
    expect((await attempt('spray-23', 'password-spraying-attempt', ip)).status).toBe(401);
    expectError(await attempt('spray-24', 'password-spraying-attempt', ip), 429, 'RATE_LIMITED');
  });

  it('counts the connection’s address: headers claiming another one are ignored', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at(2, '09:00:05'));
    const ip = freshIp();
    const spoofed = (i: number) =>
      api.request('/auth/login', {
        method: 'POST',
        body: { username: `spoof-${i}`, password: 'password-spraying-attempt' },
        localAddress: ip,
        // Neither the usual proxy header nor the one `npm run dev`'s supervisor uses towards its workers.
        headers: { 'X-Forwarded-For': `10.0.0.${i}`, [CLIENT_ADDRESS_HEADER]: `10.1.0.${i}` },
      });
    for (let i = 0; i < 20; i++) expect((await spoofed(i)).status).toBe(401);
    expectError(await spoofed(20), 429, 'RATE_LIMITED');
  });
});

describe('disabled accounts', () => {
  it('cannot log in, with the same answer as a wrong password', async () => {
    const victim = await userWithRoles(api, ['viewer']);
    const res = await api.request(`/users/${victim.userId}`, {
      method: 'PATCH',
      token: await adminToken(api),
      body: { reason: 'Test change', disabled: true },
    });
    expect(res.status).toBe(200);
    expectError(await attempt(victim.username, victim.password, freshIp()), 401, 'UNAUTHORIZED');
  });
});
