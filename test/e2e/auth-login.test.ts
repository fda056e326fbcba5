import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError, expectSecurityHeaders } from '../support/assertions';
import { adminToken, login, userWithRoles, type TestUser } from '../support/auth';
import { type LocalApi, startLocalApi } from '../support/local-api';
import { CLIENT_ADDRESS_HEADER } from '../../scripts/local/dev-protocol';

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

describe('login', () => {
  it('returns a bearer access token (RS256 JWT with kid) and an opaque refresh token', async () => {
    const user = await userWithRoles(api, ['viewer']);
    const res = await attempt(user.username, user.password, freshIp());
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const body = res.json as { accessToken: string; refreshToken: string; tokenType: string; expiresIn: number };
    expect(body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
    const [header, payload] = body.accessToken.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
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
    vi.setSystemTime(new Date('2026-12-01T10:00:00Z'));
    const attackerIp = freshIp();
    await fail(user, 5, attackerIp);

    const locked = await attempt(user.username, user.password, attackerIp);
    expectError(locked, 423, 'ACCOUNT_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(300);

    // The same user from another address is not affected: the attacker locked out only themselves.
    const elsewhere = await attempt(user.username, user.password, freshIp());
    expect(elsewhere.status).toBe(200);

    vi.setSystemTime(new Date('2026-12-01T10:04:59Z'));
    expectError(await attempt(user.username, user.password, attackerIp), 423, 'ACCOUNT_LOCKED');
    vi.setSystemTime(new Date('2026-12-01T10:05:01Z'));
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
      expect(res.status).toBe(401);
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
    const unlock = await api.request(`/users/${victim.userId}/unlock`, { method: 'POST', token: await adminToken(api) });
    expect(unlock.status).toBe(204);
    expect((await attempt(victim.username, victim.password, ip)).status).toBe(200);
  });
});

describe('per-username ceiling', () => {
  it('locks the account for everyone after 100 failures in an hour from many addresses', { timeout: 120_000 }, async () => {
    const victim = await userWithRoles(api, ['viewer']);
    // 25 addresses × 4 failures: no single pair ever reaches its own lock. Five attackers at a time, so the
    // concurrent updates of the username's lockout state are exercised too: every failure must be counted.
    const ips = Array.from({ length: 25 }, freshIp);
    for (let i = 0; i < ips.length; i += 5) await Promise.all(ips.slice(i, i + 5).map((ip) => fail(victim, 4, ip)));
    const fromAnywhere = await attempt(victim.username, victim.password, freshIp());
    expectError(fromAnywhere, 423, 'ACCOUNT_LOCKED');
    expect(Number(fromAnywhere.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('per-source-IP login limit', () => {
  it('answers 429 with Retry-After past LOGIN_RATE_LIMIT_PER_MINUTE attempts from one address', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-02T08:00:05Z'));
    const ip = freshIp();
    // Different usernames, so no lockout gets in the way: this is the address's own budget.
    for (let i = 0; i < 20; i++) {
      const res = await attempt(`spray-${i}`, 'password-spraying-attempt', ip);
      expect(res.status).toBe(401);
    }
    const limited = await attempt('spray-21', 'password-spraying-attempt', ip);
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBe(55);
    // Another address still has its budget.
    expect((await attempt('spray-22', 'password-spraying-attempt', freshIp())).status).toBe(401);
    // The next minute starts a new window.
    vi.setSystemTime(new Date('2026-12-02T08:01:00Z'));
    expect((await attempt('spray-23', 'password-spraying-attempt', ip)).status).toBe(401);
  });

  it('counts the connection’s address: headers claiming another one are ignored', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-03T09:00:05Z'));
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
      body: { disabled: true },
    });
    expect(res.status).toBe(200);
    expectError(await attempt(victim.username, victim.password, freshIp()), 401, 'UNAUTHORIZED');
  });
});
