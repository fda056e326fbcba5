import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectSecurityHeaders } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { freshIp, signIn, whoAmI } from '#test/support/security';
import { type Account, createAccount } from '#test/support/users';
import { scanAll } from '#test/support/streams';
import { stubEnvForAll } from '#test/support/env';

/** Input rules on the auth and user routes: mass assignment, password policy, unique usernames, body errors. */

stubEnvForAll({ LOGIN_RATE_LIMIT_PER_MINUTE: '10000', RATE_LIMIT_PER_MINUTE: '10000' });

let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api.stop());

const name = (prefix = 'in') => `${prefix}-${randomBytes(5).toString('hex')}`;
const strong = () => `pw-${randomBytes(12).toString('hex')}`;
const createUser = (body: Record<string, unknown>) =>
  api.request('/users', { method: 'POST', token: admin, body: { reason: 'Test account', ...body } });
const loginAs = (username: string, password: string) =>
  api.request('/auth/login', { method: 'POST', body: { username, password }, localAddress: freshIp() });

/** Every user whose username equals this one ignoring case, across all pages of GET /users. */
async function usersNamed(username: string) {
  const found: Array<{ userId: string; username: string }> = [];
  let cursor: string | null = null;
  do {
    const res = await api.request(`/users?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      token: admin,
    });
    expect(res.status, res.text).toBe(200);
    const page = res.json as { items: Array<{ userId: string; username: string }>; nextCursor: string | null };
    found.push(...page.items.filter((u) => u.username.toLowerCase() === username.toLowerCase()));
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

describe('mass assignment', () => {
  let account: Account;
  let token: string;
  beforeAll(async () => {
    account = await createAccount(api, ['viewer']);
    token = (await signIn(api, account)).accessToken;
  });

  it.each([
    ['roles', { roles: ['admin'] }],
    ['roles next to an allowed field', { displayName: 'Innocent', roles: ['admin'] }],
    ['passwordHash', { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA' }],
    ['disabled', { disabled: true }],
    ['userId', { userId: '00000000-0000-4000-8000-000000000000' }],
    ['username', { username: 'admin' }],
    ['source', { source: 'oidc:https://evil.example' }],
    ['tokensValidAfter', { tokensValidAfter: 0 }],
    ['tokensValidAfterExceptSession', { tokensValidAfterExceptSession: 'x' }],
    ['version', { version: 1000 }],
    ['password', { password: 'a-brand-new-password' }],
  ])('PATCH /users/me with %s → 400 and nothing changed', async (_field, body) => {
    const before = await whoAmI(api, token);
    expect(before.status).toBe(200);
    const res = await api.request('/users/me', { method: 'PATCH', token, body });
    expectError(res, 400, 'BAD_REQUEST');
    const after = await whoAmI(api, token);
    expect(after.json).toEqual(before.json);
  });

  it('a __proto__ / constructor key in PATCH /users/me grants nothing and changes nothing', async () => {
    const before = (await whoAmI(api, token)).json;
    for (const raw of ['{"__proto__":{"roles":["admin"]}}', '{"constructor":{"prototype":{"roles":["admin"]}}}']) {
      const res = await api.request('/users/me', {
        method: 'PATCH',
        token,
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      });
      expect([400, 422], res.text).toContain(res.status);
      expectSecurityHeaders(res);
    }
    expect((await whoAmI(api, token)).json).toEqual(before);
    expect((await api.request('/users', { token })).status).toBe(403);
  });

  it('the allowed fields still work, and the password is untouched by all of the above', async () => {
    const res = await api.request('/users/me', {
      method: 'PATCH',
      token,
      body: { displayName: 'Ada', email: 'ada@example.com' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      displayName: 'Ada',
      email: 'ada@example.com',
      roles: ['viewer'],
      disabled: false,
    });
    await signIn(api, account);
  });

  it.each([
    ['passwordHash', { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' }],
    ['password', { password: 'another-long-password' }],
    ['username', { username: 'renamed-user' }],
    ['userId', { userId: '00000000-0000-4000-8000-000000000000' }],
    ['source', { source: 'local' }],
    ['tokensValidAfter', { tokensValidAfter: 0 }],
  ])('PATCH /users/{id} (as admin) with %s → 400 and nothing changed', async (_field, body) => {
    const before = await api.request(`/users/${account.userId}`, { token: admin });
    const res = await api.request(`/users/${account.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', ...body },
    });
    expectError(res, 400, 'BAD_REQUEST');
    expect((await api.request(`/users/${account.userId}`, { token: admin })).json).toEqual(before.json);
  });

  it('POST /users with a field it does not accept → 400 and no user is created', async () => {
    for (const extra of [
      { passwordHash: '$argon2id$v=19$x' },
      { source: 'oidc:https://evil.example' },
      { disabled: false },
      { userId: 'chosen' },
    ]) {
      const username = name('mass');
      const res = await createUser({ username, password: strong(), roles: ['viewer'], ...extra });
      expectError(res, 400, 'BAD_REQUEST');
      expect(await usersNamed(username)).toEqual([]);
    }
  });

  it('no response about a user ever carries the password hash or token state', async () => {
    const responses = [
      await whoAmI(api, token),
      await api.request(`/users/${account.userId}`, { token: admin }),
      await api.request('/users?limit=100', { token: admin }),
    ];
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.text).not.toMatch(/argon2|passwordHash|tokensValidAfter/);
    }
  });
});

describe('password policy on POST /users (ASVS 5 §6.2)', () => {
  it.each([
    ['shorter than 12 characters', () => ({ username: name(), password: 'short-pw-11' })],
    ['11 emoji (22 UTF-16 units, but 11 characters)', () => ({ username: name(), password: '🔑'.repeat(11) })],
    [
      'equal to the username',
      () => {
        const u = name('samename');
        return { username: u, password: u };
      },
    ],
    [
      'the username in other case',
      () => {
        const u = name('casename');
        return { username: u, password: u.toUpperCase() };
      },
    ],
    [
      'a common password of 12+ characters from the bundled list',
      () => ({ username: name(), password: '1qaz2wsx3edc' }),
    ],
    ['a common password in other case', () => ({ username: name(), password: '1QAZ2WSX3EDC' })],
    ['longer than the accepted maximum', () => ({ username: name(), password: 'x'.repeat(5000) })],
  ])('%s → 422 and no user', async (_case, make) => {
    const { username, password } = make();
    const res = await createUser({ username, password, roles: ['viewer'] });
    expectError(res, 422, 'VALIDATION_ERROR');
    // Nothing was written: the username is still free.
    expect((await createUser({ username, password: strong(), roles: ['viewer'] })).status).toBe(201);
  });

  it.each([
    ['exactly 12 characters', 'abcdefghijkl'.replace('a', 'q')],
    ['128 characters', 'p'.repeat(60) + randomBytes(34).toString('hex')],
    ['12 emoji', '🔑'.repeat(12)],
    ['spaces and any Unicode (no composition rules)', 'correct horse battery staple ünïcødé'],
  ])('%s is accepted and works for login', async (_case, password) => {
    const username = name('ok');
    const res = await createUser({ username, password, roles: ['viewer'] });
    expect(res.status, res.text).toBe(201);
    expect(res.text).not.toContain(password);
    expect((await loginAs(username, password)).status).toBe(200);
  });

  it('the 128-character password really is 128 characters long', () => {
    expect(('p'.repeat(60) + randomBytes(34).toString('hex')).length).toBe(128);
  });

  it('POST /users/me/password applies the same policy, and a refused change keeps the old password', async () => {
    const account = await createAccount(api, ['viewer']);
    const { accessToken } = await signIn(api, account);
    for (const newPassword of ['short-pw-11', account.username, '1qaz2wsx3edc']) {
      const res = await api.request('/users/me/password', {
        method: 'POST',
        token: accessToken,
        body: { currentPassword: account.password, newPassword },
        localAddress: freshIp(),
      });
      expectError(res, 422, 'VALIDATION_ERROR');
    }
    await signIn(api, account);
  });
});

describe('unique usernames', () => {
  it('a duplicate username → 409, also when it differs only in case; exactly one user exists', async () => {
    const username = name('dup');
    expect((await createUser({ username, password: strong(), roles: ['viewer'] })).status).toBe(201);
    expectError(await createUser({ username, password: strong(), roles: ['admin'] }), 409, 'CONFLICT');
    expectError(
      await createUser({ username: username.toUpperCase(), password: strong(), roles: ['admin'] }),
      409,
      'CONFLICT',
    );
    expect(await usersNamed(username)).toHaveLength(1);
  });

  it('concurrent creations of one username: exactly one wins (the database decides, not a read-then-write)', async () => {
    const username = name('race');
    const variants = [username, username.toUpperCase(), username, `${username[0]?.toUpperCase()}${username.slice(1)}`];
    const results = await Promise.all(
      variants.map((u) => createUser({ username: u, password: strong(), roles: ['viewer'] })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    expect(await usersNamed(username)).toHaveLength(1);
  });

  it('the bootstrap admin cannot be shadowed by "ADMIN"', async () => {
    expectError(await createUser({ username: 'ADMIN', password: strong(), roles: ['viewer'] }), 409, 'CONFLICT');
  });
});

describe('body errors on POST /auth/login: the error shape with security headers', () => {
  const post = (rawBody: string | Buffer, contentType = 'application/json') =>
    api.request('/auth/login', {
      method: 'POST',
      rawBody,
      headers: { 'content-type': contentType },
      localAddress: freshIp(),
    });

  it('malformed JSON → 400', async () => {
    for (const raw of ['{"username": "admin", "password": ', '{username: admin}', "{'a': 1}", '{"a":1}}']) {
      expectError(await post(raw), 400, 'BAD_REQUEST');
    }
  });

  it('a wrong content type → 415', async () => {
    const body = JSON.stringify({ username: 'admin', password: 'test-admin-password-1' });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
    ]) {
      expectError(await post(body, type), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('a body above 1 MiB → 413', async () => {
    const big = JSON.stringify({ username: 'admin', password: 'x'.repeat(1024 * 1024) });
    expectError(await post(big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('an unknown field → 400', async () => {
    const res = await post(JSON.stringify({ username: 'admin', password: 'test-admin-password-1', roles: ['admin'] }));
    expectError(res, 400, 'BAD_REQUEST');
  });

  it('a missing field → 422 naming it', async () => {
    const error = expectError(await post(JSON.stringify({ username: 'admin' })), 422, 'VALIDATION_ERROR');
    expect(JSON.stringify(error.details)).toContain('password');
  });

  it('wrong types, an array or null body → 4xx, never a login', async () => {
    for (const raw of [
      '{"username": ["admin"], "password": "test-admin-password-1"}',
      '[]',
      'null',
      '"admin"',
      '{"username":"admin","password":{"$ne":""}}',
    ]) {
      const res = await post(raw);
      expect([400, 422], `${raw}: ${res.text}`).toContain(res.status);
      expectSecurityHeaders(res);
      expect(res.text).not.toContain('accessToken');
    }
  });
});

describe('ill-formed Unicode (a lone surrogate) is refused where text reaches the audit trail', () => {
  const LONE = 'ghost\ud800x';

  it('POST /auth/login with such a username → 422 naming body.username; no lockout state or audit chain for it', async () => {
    // Act
    const res = await loginAs(`${LONE}-${randomBytes(3).toString('hex')}`, 'any-password-at-all');

    // Assess: 422, not the 401 of an unknown user — no account can bear such a name, so it reveals none.
    const error = expectError(res, 422, 'VALIDATION_ERROR');
    expect(error.details).toEqual([expect.objectContaining({ path: 'body.username' })]);
    // Nor does it become an audit entity `login/ghost\ud800x…`, which no URL could name or verify.
    const [audit, state] = await Promise.all([scanAll('audit'), scanAll('auth-state')]);
    expect(audit.filter((i) => JSON.stringify(i).includes('\\ud800'))).toEqual([]);
    expect(state.filter((i) => String(i.pk).includes('\ud800'))).toEqual([]);
  });

  it('a well-formed name outside ASCII is still only an unknown user: 401', async () => {
    expectError(await loginAs(`Łódź-😀-${randomBytes(3).toString('hex')}`, 'any-password-at-all'), 401, 'UNAUTHORIZED');
  });

  it('PATCH /users/me with such a displayName → 422 naming body.displayName; the user is unchanged', async () => {
    // Prepare
    const token = (await signIn(api, await createAccount(api, ['viewer']))).accessToken;

    // Act
    const res = await api.request('/users/me', { method: 'PATCH', token, body: { displayName: 'Eve\udc00' } });

    // Assess
    const error = expectError(res, 422, 'VALIDATION_ERROR');
    expect(error.details).toEqual([expect.objectContaining({ path: 'body.displayName' })]);
    expect((await whoAmI(api, token)).json).not.toHaveProperty('displayName');
  });

  it('a displayName is one line: NUL, line breaks and other control characters → 422 (users and /users/me alike)', async () => {
    const token = (await signIn(api, await createAccount(api, ['viewer']))).accessToken;
    for (const displayName of ['Eve\u0000', 'Eve\nAdmin', 'Eve\u2028x', 'Eve\u001b[31m']) {
      expectError(
        await api.request('/users/me', { method: 'PATCH', token, body: { displayName } }),
        422,
        'VALIDATION_ERROR',
      );
      const created = await api.request('/users', {
        method: 'POST',
        token: await adminToken(api),
        body: {
          username: `dn-${randomBytes(3).toString('hex')}`,
          password: `pw-${randomBytes(12).toString('hex')}`,
          roles: [],
          displayName,
          reason: 'Test account',
        },
      });
      expectError(created, 422, 'VALIDATION_ERROR');
    }
    expect(
      (await api.request('/users/me', { method: 'PATCH', token, body: { displayName: 'Łódź Müller 😀' } })).status,
    ).toBe(200);
  });
});

describe('pagination cursors are opaque and checked', () => {
  it('GET /users pages through every user, and refuses a forged cursor with 400', async () => {
    const token = await adminToken(api);
    for (let i = 0; i < 3; i++) {
      const res = await api.request('/users', {
        method: 'POST',
        token,
        body: {
          username: `pager-${i}-${randomBytes(3).toString('hex')}`,
          password: `pw-${randomBytes(12).toString('hex')}`,
          roles: [],
          reason: 'Test account',
        },
      });
      expect(res.status, res.text).toBe(201);
    }
    const seen = new Set<string>();
    let cursor: string | null | undefined;
    do {
      const res = await api.request(`/users?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        token,
      });
      expect(res.status, res.text).toBe(200);
      const page = res.json as { items: { userId: string }[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const u of page.items) seen.add(u.userId);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.size).toBeGreaterThanOrEqual(4);

    // A cursor naming a key the users index never hands out (e.g. to start inside another item type).
    const forged = Buffer.from(JSON.stringify({ pk: 'username#admin', passwordHash: 'x' })).toString('base64url');
    for (const bad of ['garbage', forged]) {
      const res = await api.request(`/users?cursor=${bad}`, { token });
      expectError(res, 400, 'BAD_REQUEST');
    }
  });
});
