import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import {
  countingServer,
  decodeJwt,
  expect401,
  freshIp,
  refreshWith,
  signHs256,
  signIn,
  signRs256,
  unsigned,
  whoAmI,
  withPayload,
} from '#test/support/security';
import { type Account, createAccount } from '#test/support/users';
import { stubEnvForAll } from '#test/support/env';

// Many logins in this file: the per-IP login limit is auth-login.test.ts's subject, not this one's.
// A day between refreshes, as the absolute-lifetime test rotates: the idle limit has its own tests
// (cookie-sessions.test.ts) and is lifted here beyond the 7 days.
stubEnvForAll({
  LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
  RATE_LIMIT_PER_MINUTE: '10000',
  SESSION_IDLE_SECONDS: String(8 * 24 * 3600),
});

let api: LocalApi;
let admin: string;
let attacker: Awaited<ReturnType<typeof countingServer>>;
const attackerKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerJwk = {
  ...attackerKeys.publicKey.export({ format: 'jwk' }),
  kid: 'attacker-key',
  alg: 'RS256',
  use: 'sig',
};

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  // Answers any key fetch with the attacker's JWKS, so a verifier that fetched would accept the forgery.
  attacker = await countingServer(() => ({ keys: [attackerJwk] }));
});
afterAll(async () => {
  await attacker.close();
  await api.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

const DAY = 86_400_000;

describe('forged and misused bearer tokens', () => {
  let victim: Account;
  let claims: Record<string, unknown>;
  let realKid: string;
  let realToken: string;

  beforeAll(async () => {
    victim = await createAccount(api, ['viewer']);
    realToken = (await signIn(api, victim)).accessToken;
    const decoded = decodeJwt(realToken);
    claims = decoded.payload;
    realKid = String(decoded.header.kid);
    // The real token works: every rejection below is about the forgery, not the account.
    expect((await whoAmI(api, realToken)).status).toBe(200);
  });

  /** The victim's own claims, but admin, freshly issued: what an attacker would like to be accepted. */
  const forgedClaims = () => ({ ...claims, roles: ['admin'], jti: randomUUID() });

  it('a refresh token presented as a bearer token → 401', async () => {
    const { refreshToken } = await signIn(api, victim);
    expect401(await whoAmI(api, refreshToken));
    expect401(await api.request('/charges', { token: refreshToken }));
  });

  it.each([
    ['jku', (url: string) => ({ jku: `${url}/jwks.json` })],
    ['x5u', (url: string) => ({ x5u: `${url}/cert.pem` })],
    ['jwk', () => ({ jwk: attackerJwk })],
    ['x5c', () => ({ x5c: [Buffer.from('attacker certificate').toString('base64')] })],
    [
      'all four',
      (url: string) => ({ jku: `${url}/jwks.json`, x5u: `${url}/cert.pem`, jwk: attackerJwk, x5c: ['AAAA'] }),
    ],
  ])('an attacker-signed token with a %s header → 401, and the header URL is never fetched', async (_name, extra) => {
    const before = attacker.hits.length;
    for (const kid of ['attacker-key', realKid]) {
      const token = signRs256(
        { alg: 'RS256', typ: 'JWT', kid, ...extra(attacker.url) },
        forgedClaims(),
        attackerKeys.privateKey,
      );
      expect401(await api.request('/users', { token }));
      expect401(await whoAmI(api, token));
    }
    expect(attacker.hits.slice(before)).toEqual([]);
  });

  it('alg "none" → 401', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      expect401(await api.request('/users', { token: unsigned({ alg, typ: 'JWT', kid: realKid }, forgedClaims()) }));
    }
  });

  it('HS256 signed with the public key from the JWKS as the HMAC secret → 401', async () => {
    const jwks = (await api.request('/.well-known/jwks.json')).json as { keys: Array<Record<string, string>> };
    const jwk = jwks.keys.find((k) => k.kid === realKid);
    expect(jwk).toBeDefined();
    const publicKey = createPublicKey({ key: { kty: 'RSA', n: String(jwk?.n), e: String(jwk?.e) }, format: 'jwk' });
    const secrets = [
      publicKey.export({ format: 'pem', type: 'spki' }),
      publicKey.export({ format: 'pem', type: 'pkcs1' }),
      publicKey.export({ format: 'der', type: 'spki' }),
      JSON.stringify(jwk),
      String(jwk?.n),
    ];
    for (const secret of secrets) {
      const token = signHs256({ alg: 'HS256', typ: 'JWT', kid: realKid }, forgedClaims(), secret);
      expect401(await api.request('/users', { token }));
    }
  });

  it('a real token whose payload was changed to roles: ["admin"] (signature kept) → 401', async () => {
    const token = withPayload(realToken, { ...claims, roles: ['admin'] });
    expect401(await api.request('/users', { token }));
    expect401(await whoAmI(api, token));
    // Changing the subject to the admin's is refused the same way.
    const me = (await whoAmI(api, admin)).json as { userId: string };
    expect401(await whoAmI(api, withPayload(realToken, { ...claims, sub: me.userId, username: 'admin' })));
  });

  it('a token signed by an unknown key with a plausible kid, or our kid with a path in it → 401', async () => {
    for (const kid of [realKid, '../../keys/current', `${realKid}x`]) {
      const token = signRs256({ alg: 'RS256', typ: 'JWT', kid }, forgedClaims(), attackerKeys.privateKey);
      expect401(await api.request('/users', { token }));
    }
  });
});

describe('refresh token rotation and reuse detection', () => {
  let account: Account;
  beforeAll(async () => {
    account = await createAccount(api, ['operator']);
  });

  it('every refresh hands out a new refresh token and spends the old one', async () => {
    const first = await signIn(api, account);
    const second = await refreshWith(api, first.refreshToken);
    expect(second.status, second.text).toBe(200);
    const body = second.json as { accessToken: string; refreshToken: string; tokenType: string; expiresIn: number };
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
    });
    expect(body.refreshToken).not.toBe(first.refreshToken);
    expect(body.accessToken).not.toBe(first.accessToken);
    expect((await whoAmI(api, body.accessToken)).status).toBe(200);
    // The new refresh token rotates in turn.
    const third = await refreshWith(api, body.refreshToken);
    expect(third.status, third.text).toBe(200);
    expect((third.json as { refreshToken: string }).refreshToken).not.toBe(body.refreshToken);
  });

  it('reusing a spent refresh token → 401, and the whole family dies: the newer refresh and access tokens too', async () => {
    const first = await signIn(api, account);
    const rotated = (await refreshWith(api, first.refreshToken)).json as { accessToken: string; refreshToken: string };
    expect((await whoAmI(api, rotated.accessToken)).status).toBe(200);

    expect401(await refreshWith(api, first.refreshToken));

    expect401(await refreshWith(api, rotated.refreshToken));
    expect401(await whoAmI(api, rotated.accessToken));
    expect401(await whoAmI(api, first.accessToken));
    // Other sessions of the same user are not part of that family and live on.
    const other = await signIn(api, account);
    expect((await whoAmI(api, other.accessToken)).status).toBe(200);
  });

  it('two concurrent refreshes with one token: exactly one wins, and the family is then dead', async () => {
    const session = await signIn(api, account);
    const results = await Promise.all([1, 2, 3].map(() => refreshWith(api, session.refreshToken)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect401(r);
    // The race was reuse: the winner's token belongs to a revoked family.
    expect401(await refreshWith(api, (winners[0]?.json as { refreshToken: string }).refreshToken));
  });

  it('an unknown or garbage refresh token → 401', async () => {
    for (const token of ['x', 'A'.repeat(43), 'eyJhbGciOiJub25lIn0.e30.']) expect401(await refreshWith(api, token));
  });

  it('the family dies 7 days after login even when rotated every day (fake clock)', async () => {
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    let tokens = await signIn(api, account);
    for (let day = 1; day <= 6; day++) {
      vi.setSystemTime(start + day * DAY);
      const res = await refreshWith(api, tokens.refreshToken);
      expect(res.status, `day ${day}: ${res.text}`).toBe(200);
      tokens = res.json as typeof tokens;
      expect((await whoAmI(api, tokens.accessToken)).status).toBe(200);
    }
    // A minute before the end the session still refreshes; that access token is valid for 15 more minutes…
    vi.setSystemTime(start + 7 * DAY - 60_000);
    const last = await refreshWith(api, tokens.refreshToken);
    expect(last.status, last.text).toBe(200);
    tokens = last.json as typeof tokens;
    expect((await whoAmI(api, tokens.accessToken)).status).toBe(200);

    // …but once the 7 days are over, neither the refresh token nor that access token is accepted.
    vi.setSystemTime(start + 7 * DAY + 1000);
    expect401(await refreshWith(api, tokens.refreshToken));
    expect401(await whoAmI(api, tokens.accessToken));
  });

  it('an access token dies at its own exp (15 minutes) even though its session lives on (fake clock)', async () => {
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start);
    const tokens = await signIn(api, account);
    vi.setSystemTime(start + 15 * 60_000 + 61_000); // past exp plus the 60 s skew
    expect401(await whoAmI(api, tokens.accessToken));
    expect((await refreshWith(api, tokens.refreshToken)).status).toBe(200);
  });
});

describe('logout', () => {
  let account: Account;
  beforeAll(async () => {
    account = await createAccount(api, ['viewer']);
  });

  it('kills the access token on the very next request, and its refresh token', async () => {
    const session = await signIn(api, account);
    expect((await whoAmI(api, session.accessToken)).status).toBe(200);
    const out = await api.request('/auth/logout', { method: 'POST', token: session.accessToken });
    expect(out.status, out.text).toBe(204);
    expect401(await whoAmI(api, session.accessToken));
    expect401(await refreshWith(api, session.refreshToken));
  });

  it('with a refresh token in the body, also ends that (other) session of the caller', async () => {
    const a = await signIn(api, account);
    const b = await signIn(api, account);
    const out = await api.request('/auth/logout', {
      method: 'POST',
      token: a.accessToken,
      body: { refreshToken: b.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    expect401(await refreshWith(api, b.refreshToken));
    expect401(await whoAmI(api, b.accessToken));
  });

  it("cannot be used to end someone else's session by sending their refresh token", async () => {
    const victim = await signIn(api, await createAccount(api, ['viewer']));
    const mine = await signIn(api, account);
    const out = await api.request('/auth/logout', {
      method: 'POST',
      token: mine.accessToken,
      body: { refreshToken: victim.refreshToken },
    });
    expect(out.status, out.text).toBe(204);
    expect((await whoAmI(api, victim.accessToken)).status).toBe(200);
    expect((await refreshWith(api, victim.refreshToken)).status).toBe(200);
  });

  it('a token used after logout stays dead even for its other routes, and a new login works', async () => {
    const session = await signIn(api, account);
    await api.request('/auth/logout', { method: 'POST', token: session.accessToken });
    expect401(await api.request('/auth/logout', { method: 'POST', token: session.accessToken }));
    expect401(await api.request('/charges', { token: session.accessToken }));
    const again = await signIn(api, account);
    expect((await whoAmI(api, again.accessToken)).status).toBe(200);
  });
});

describe('revocation by an administrator and by password change', () => {
  it('POST /users/{id}/revoke-tokens kills every session of the user; a new login right after works', async () => {
    const account = await createAccount(api, ['operator']);
    const sessions = [await signIn(api, account), await signIn(api, account)];
    for (const s of sessions) expect((await whoAmI(api, s.accessToken)).status).toBe(200);

    const res = await api.request(`/users/${account.userId}/revoke-tokens`, { method: 'POST', token: admin });
    expect(res.status, res.text).toBe(204);

    for (const s of sessions) {
      expect401(await whoAmI(api, s.accessToken));
      expect401(await refreshWith(api, s.refreshToken));
    }
    const fresh = await signIn(api, account);
    expect((await whoAmI(api, fresh.accessToken)).status).toBe(200);
    expect((await refreshWith(api, fresh.refreshToken)).status).toBe(200);
  });

  it("POST /users/me/password kills every other session, while the caller's own session keeps working", async () => {
    const account = await createAccount(api, ['viewer']);
    const mine = await signIn(api, account);
    const others = [await signIn(api, account), await signIn(api, account)];
    const newPassword = `new-${randomUUID()}`;

    const res = await api.request('/users/me/password', {
      method: 'POST',
      token: mine.accessToken,
      body: { currentPassword: account.password, newPassword },
      localAddress: freshIp(),
    });
    expect(res.status, res.text).toBe(204);

    for (const s of others) {
      expect401(await whoAmI(api, s.accessToken));
      expect401(await refreshWith(api, s.refreshToken));
    }
    expect((await whoAmI(api, mine.accessToken)).status).toBe(200);
    const refreshed = await refreshWith(api, mine.refreshToken);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect((await whoAmI(api, (refreshed.json as { accessToken: string }).accessToken)).status).toBe(200);

    const oldLogin = await api.request('/auth/login', {
      method: 'POST',
      body: { username: account.username, password: account.password },
      localAddress: freshIp(),
    });
    expect401(oldLogin);
    await signIn(api, { username: account.username, password: newPassword });
  });

  it('a wrong current password changes nothing and ends no session', async () => {
    const account = await createAccount(api, ['viewer']);
    const mine = await signIn(api, account);
    const other = await signIn(api, account);
    const res = await api.request('/users/me/password', {
      method: 'POST',
      token: mine.accessToken,
      body: { currentPassword: 'not-the-current-password', newPassword: `new-${randomUUID()}` },
      localAddress: freshIp(),
    });
    // 403, not 401: the session is valid, and a 401 (with WWW-Authenticate) makes clients throw it away.
    const error = expectError(res, 403, 'FORBIDDEN');
    expect(error.message).toBe('The current password is not correct');
    expect(error.details).toEqual([{ path: 'body.currentPassword', code: 'mismatch', message: expect.any(String) }]);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect((await whoAmI(api, mine.accessToken)).status).toBe(200);
    expect((await whoAmI(api, other.accessToken)).status).toBe(200);
    await signIn(api, account);
  });
});

describe("changes to the user's state take effect on their next request", () => {
  it.each([
    [
      'PATCH /users/{id} {disabled: true}',
      (id: string) =>
        api.request(`/users/${id}`, { method: 'PATCH', token: admin, body: { reason: 'Test change', disabled: true } }),
    ],
    [
      'DELETE /users/{id}',
      (id: string) => api.request(`/users/${id}`, { method: 'DELETE', token: admin, body: { reason: 'Test removal' } }),
    ],
  ])('%s: the token → 401 on the next request, the refresh token too, and login is refused', async (_name, disable) => {
    const account = await createAccount(api, ['operator']);
    const session = await signIn(api, account);
    expect((await api.request('/charges', { token: session.accessToken })).status).toBe(200);

    const res = await disable(account.userId);
    expect([200, 204]).toContain(res.status);

    expect401(await api.request('/charges', { token: session.accessToken }));
    expect401(await whoAmI(api, session.accessToken));
    expect401(await refreshWith(api, session.refreshToken));
    expect401(
      await api.request('/auth/login', {
        method: 'POST',
        body: { username: account.username, password: account.password },
        localAddress: freshIp(),
      }),
    );
  });

  it('re-enabling a disabled user does not bring their old sessions back', async () => {
    const account = await createAccount(api, ['operator']);
    const plain = await signIn(api, account);
    // A session that survived a password change (the caller's own) is still an old session after a disable.
    const changer = await signIn(api, account);
    const newPassword = `new-${randomUUID()}`;
    const changed = await api.request('/users/me/password', {
      method: 'POST',
      token: changer.accessToken,
      body: { currentPassword: account.password, newPassword },
      localAddress: freshIp(),
    });
    expect(changed.status, changed.text).toBe(204);
    expect((await whoAmI(api, changer.accessToken)).status).toBe(200);

    expect(
      (
        await api.request(`/users/${account.userId}`, {
          method: 'PATCH',
          token: admin,
          body: { reason: 'Test change', disabled: true },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await api.request(`/users/${account.userId}`, {
          method: 'PATCH',
          token: admin,
          body: { reason: 'Test change', disabled: false },
        })
      ).status,
    ).toBe(200);

    for (const s of [plain, changer]) {
      expect401(await whoAmI(api, s.accessToken));
      expect401(await refreshWith(api, s.refreshToken));
    }
    await signIn(api, { username: account.username, password: newPassword });
  });

  it('demoting an operator to viewer: the very next write is refused; a new login has only viewer rights', async () => {
    const account = await createAccount(api, ['operator']);
    const session = await signIn(api, account);
    const charge = { articleId: 'A-1', quantity: 1, unit: 'kg', productionDate: '2026-01-01' };
    expect((await api.request('/charges', { method: 'POST', token: session.accessToken, body: charge })).status).toBe(
      201,
    );

    const res = await api.request(`/users/${account.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', roles: ['viewer'] },
    });
    expect(res.status, res.text).toBe(200);

    const next = await api.request('/charges', { method: 'POST', token: session.accessToken, body: charge });
    // Either design keeps the rule (end the sessions, or re-read the roles): never a success.
    expect([401, 403]).toContain(next.status);
    const fresh = await signIn(api, account);
    expect((await api.request('/charges', { method: 'POST', token: fresh.accessToken, body: charge })).status).toBe(
      403,
    );
    expect((await api.request('/charges', { token: fresh.accessToken })).status).toBe(200);
  });

  it('promoting a viewer to operator: the new permission applies from the next request on', async () => {
    const account = await createAccount(api, ['viewer']);
    const session = await signIn(api, account);
    const charge = { articleId: 'A-2', quantity: 2, unit: 'pcs', productionDate: '2026-01-02' };
    expect((await api.request('/charges', { method: 'POST', token: session.accessToken, body: charge })).status).toBe(
      403,
    );

    const res = await api.request(`/users/${account.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', roles: ['operator'] },
    });
    expect(res.status, res.text).toBe(200);

    // The old token either carries the user's current roles now, or its session ended with the role change.
    const next = await api.request('/charges', { method: 'POST', token: session.accessToken, body: charge });
    expect([201, 401]).toContain(next.status);
    const fresh = await signIn(api, account);
    expect((await api.request('/charges', { method: 'POST', token: fresh.accessToken, body: charge })).status).toBe(
      201,
    );
  });
});
