import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfig } from '#platform/config';
import { type ApiResponse, type LocalApi, startLocalApi } from '#test/support/local-api';
import { type Account, createAccount } from '#test/support/users';

/**
 * Browser sessions: the refresh token as an HttpOnly cookie (never in a body the page's scripts can read), a
 * refresh by cookie only with the anti-CSRF header, logout clearing it, the idle limit, and the session list.
 */

let api: LocalApi;
let account: Account;

beforeAll(async () => {
  vi.stubEnv('LOGIN_RATE_LIMIT_PER_MINUTE', '10000');
  vi.stubEnv('RATE_LIMIT_PER_MINUTE', '10000');
  resetConfig();
  api = await startLocalApi();
  account = await createAccount(api, ['operator'], 'cookie');
});
afterAll(async () => {
  await api.stop();
  vi.unstubAllEnvs();
  resetConfig();
});
afterEach(() => {
  vi.useRealTimers();
});

const setCookies = (res: ApiResponse): string[] => {
  const value = res.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

/** The `cr_refresh` Set-Cookie line of an answer (there must be exactly one). */
function refreshCookieLine(res: ApiResponse): string {
  const lines = setCookies(res).filter((line) => line.startsWith('cr_refresh='));
  expect(lines, JSON.stringify(res.headers)).toHaveLength(1);
  return lines[0]!;
}

const cookieValue = (line: string) => line.slice('cr_refresh='.length).split(';')[0]!;

async function cookieLogin(headers: Record<string, string> = {}) {
  const res = await api.request('/auth/login', {
    method: 'POST',
    headers,
    body: { username: account.username, password: account.password, session: 'cookie' },
  });
  expect(res.status, res.text).toBe(200);
  return res;
}

const refreshByCookie = (cookie: string, withHeader = true) =>
  api.request('/auth/refresh', {
    method: 'POST',
    headers: { cookie: `cr_refresh=${cookie}`, ...(withHeader ? { 'x-requested-with': 'charge-records' } : {}) },
  });

describe('login with session: cookie', () => {
  it('sets the refresh token as an HttpOnly, SameSite=Strict cookie on /auth and leaves it out of the body', async () => {
    const res = await cookieLogin();
    const body = res.json as Record<string, unknown>;
    expect(body).not.toHaveProperty('refreshToken');
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const line = refreshCookieLine(res);
    expect(line).toMatch(/^cr_refresh=[A-Za-z0-9_-]{43}; /);
    expect(line).toContain('; HttpOnly');
    expect(line).toContain('; SameSite=Strict');
    expect(line).toContain('; Path=/auth;');
    // The session's absolute life: the cookie goes when the session would.
    expect(Number(/Max-Age=(\d+)/.exec(line)?.[1])).toBeGreaterThan(604_700);
    // Plain HTTP on loopback: a Secure cookie would never come back over http://127.0.0.1.
    expect(line).not.toContain('Secure');
  });

  it('marks the cookie Secure whenever the request is not plain HTTP on loopback', async () => {
    const variants: Array<Record<string, string>> = [{ 'x-forwarded-proto': 'https' }, { host: 'console.example.com' }];
    for (const headers of variants) {
      const line = refreshCookieLine(await cookieLogin(headers));
      expect(line, JSON.stringify(headers)).toContain('; Secure');
    }
  });

  it('still answers the refresh token in the body without the option (API clients)', async () => {
    const res = await api.request('/auth/login', {
      method: 'POST',
      body: { username: account.username, password: account.password },
    });
    expect(res.status).toBe(200);
    expect((res.json as { refreshToken?: string }).refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(setCookies(res)).toEqual([]);
  });

  it('refuses an unknown session mode', async () => {
    const res = await api.request('/auth/login', {
      method: 'POST',
      body: { username: account.username, password: account.password, session: 'jar' },
    });
    expect(res.status).toBe(422);
  });
});

describe('refresh by cookie', () => {
  it('refuses the cookie without X-Requested-With: a cross-site form post carries the cookie, never the header', async () => {
    const cookie = cookieValue(refreshCookieLine(await cookieLogin()));
    const forged = await refreshByCookie(cookie, false);
    expect(forged.status).toBe(401);
    const wrongValue = await api.request('/auth/refresh', {
      method: 'POST',
      headers: { cookie: `cr_refresh=${cookie}`, 'x-requested-with': 'XMLHttpRequest' },
    });
    expect(wrongValue.status).toBe(401);
    // The refused attempts did not spend the token: the console's own refresh still works.
    const own = await refreshByCookie(cookie);
    expect(own.status, own.text).toBe(200);
  });

  it('rotates: a new cookie, no token in the body, and the old cookie is reuse that ends the session', async () => {
    const first = cookieValue(refreshCookieLine(await cookieLogin()));
    const res = await refreshByCookie(first);
    expect(res.status, res.text).toBe(200);
    expect(res.json).not.toHaveProperty('refreshToken');
    const second = cookieValue(refreshCookieLine(res));
    expect(second).not.toBe(first);

    expect((await refreshByCookie(first)).status).toBe(401);
    // Reuse revoked the whole family: the newest token is dead too.
    expect((await refreshByCookie(second)).status).toBe(401);
  });

  it('is 401 without a cookie or a token', async () => {
    const res = await api.request('/auth/refresh', {
      method: 'POST',
      headers: { 'x-requested-with': 'charge-records' },
    });
    expect(res.status).toBe(401);
  });
});

describe('logout', () => {
  it('clears the cookie and ends its session', async () => {
    const login = await cookieLogin();
    const cookie = cookieValue(refreshCookieLine(login));
    const token = (login.json as { accessToken: string }).accessToken;
    const res = await api.request('/auth/logout', {
      method: 'POST',
      token,
      headers: { cookie: `cr_refresh=${cookie}` },
    });
    expect(res.status).toBe(204);
    const cleared = refreshCookieLine(res);
    expect(cleared).toMatch(/^cr_refresh=; /);
    expect(cleared).toContain('Max-Age=0');
    expect((await refreshByCookie(cookie)).status).toBe(401);
    expect((await api.request('/users/me', { token })).status).toBe(401);
  });
});

describe('idle sessions', () => {
  const start = Date.parse('2031-03-03T08:00:00Z');

  it('ends a session unused for SESSION_IDLE_SECONDS though its absolute life goes on', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    const cookie = cookieValue(refreshCookieLine(await cookieLogin()));
    // 30 min and 1 s later: well inside the 7 days, past the 30 idle minutes.
    vi.setSystemTime(start + 1801_000);
    const res = await refreshByCookie(cookie);
    expect(res.status).toBe(401);
    expect((res.json as { error: { message: string } }).error.message).toMatch(/session has ended/);
    // Over for good: the same attempt a moment later is no better.
    expect((await refreshByCookie(cookie)).status).toBe(401);
  });

  it('counts idleness from the last refresh, not from the login', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    let cookie = cookieValue(refreshCookieLine(await cookieLogin()));
    for (let step = 1; step <= 3; step++) {
      vi.setSystemTime(start + step * 1700_000);
      const res = await refreshByCookie(cookie);
      expect(res.status, `after ${step * 1700} s`).toBe(200);
      cookie = cookieValue(refreshCookieLine(res));
    }
  });

  it('refuses the access tokens of an idle session too', async () => {
    vi.stubEnv('SESSION_IDLE_SECONDS', '60');
    resetConfig();
    try {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(start);
      const token = ((await cookieLogin()).json as { accessToken: string }).accessToken;
      vi.setSystemTime(start + 30_000);
      expect((await api.request('/users/me', { token })).status).toBe(200);
      // The access token itself lives 15 min; the session behind it is over after one idle minute.
      vi.setSystemTime(start + 61_000);
      expect((await api.request('/users/me', { token })).status).toBe(401);
    } finally {
      vi.stubEnv('SESSION_IDLE_SECONDS', '1800');
      resetConfig();
    }
  });
});

describe('GET /users/me/sessions and DELETE /users/me/sessions/{id}', () => {
  interface Listed {
    items: Array<{ id: string; createdAt: string; lastUsedAt: string; userAgent?: string; current: boolean }>;
  }

  it("lists the caller's live sessions and ends one of them", async () => {
    const own = await createAccount(api, ['viewer'], 'sessions');
    const signIn = async (agent: string) => {
      const res = await api.request('/auth/login', {
        method: 'POST',
        headers: { 'user-agent': agent },
        body: { username: own.username, password: own.password, session: 'cookie' },
      });
      expect(res.status).toBe(200);
      return { token: (res.json as { accessToken: string }).accessToken, cookie: cookieValue(refreshCookieLine(res)) };
    };
    const laptop = await signIn('Laptop-Browser/1.0');
    const tablet = await signIn('Tablet-Browser/2.0');

    const res = await api.request('/users/me/sessions', { token: laptop.token });
    expect(res.status, res.text).toBe(200);
    const listed = (res.json as Listed).items;
    expect(listed.map((s) => s.userAgent).sort()).toEqual(['Laptop-Browser/1.0', 'Tablet-Browser/2.0']);
    expect(listed.filter((s) => s.current).map((s) => s.userAgent)).toEqual(['Laptop-Browser/1.0']);
    const tabletSession = listed.find((s) => s.userAgent === 'Tablet-Browser/2.0')!;

    expect(
      (await api.request(`/users/me/sessions/${tabletSession.id}`, { method: 'DELETE', token: laptop.token })).status,
    ).toBe(204);
    // Its refresh token and its access token are dead at once; the laptop's session lives on.
    expect((await refreshByCookie(tablet.cookie)).status).toBe(401);
    expect((await api.request('/users/me', { token: tablet.token })).status).toBe(401);
    expect((await api.request('/users/me', { token: laptop.token })).status).toBe(200);
    const after = (await api.request('/users/me/sessions', { token: laptop.token })).json as Listed;
    expect(after.items.map((s) => s.userAgent)).toEqual(['Laptop-Browser/1.0']);
  });

  it("cannot see or end someone else's session", async () => {
    const alice = await createAccount(api, ['viewer'], 'alice');
    const mallory = await createAccount(api, ['viewer'], 'mallory');
    const aliceLogin = await api.request('/auth/login', {
      method: 'POST',
      body: { username: alice.username, password: alice.password },
    });
    const aliceToken = (aliceLogin.json as { accessToken: string }).accessToken;
    const malloryLogin = await api.request('/auth/login', {
      method: 'POST',
      body: { username: mallory.username, password: mallory.password },
    });
    const malloryToken = (malloryLogin.json as { accessToken: string }).accessToken;
    const aliceSessions = (await api.request('/users/me/sessions', { token: aliceToken })).json as Listed;
    const target = aliceSessions.items[0]!.id;

    const mallorysView = (await api.request('/users/me/sessions', { token: malloryToken })).json as Listed;
    expect(mallorysView.items.map((s) => s.id)).not.toContain(target);
    const attack = await api.request(`/users/me/sessions/${target}`, { method: 'DELETE', token: malloryToken });
    expect(attack.status).toBe(404);
    expect((await api.request('/users/me', { token: aliceToken })).status).toBe(200);
  });
});

describe('GET /', () => {
  it('sends a browser to the console, without a token', async () => {
    const res = await api.request('/');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/console/');
  });
});
