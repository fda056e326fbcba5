import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { config, resetConfig } from '#platform/config';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  EXTERNAL_JWKS_GRACE_SECONDS,
  EXTERNAL_JWKS_MAX_AGE_SECONDS,
  EXTERNAL_JWKS_RETRY_SECONDS,
  MAX_EXTERNAL_TOKEN_LIFETIME_SECONDS,
  resetOidcVerifiers,
} from '#auth/oidc';
import { revokeAccessToken } from '#auth/sessions';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { countingServer, expect401, unsigned } from '#test/support/security';
import { eventually } from '#test/support/eventually';

/**
 * External sign-in: a test identity provider on 127.0.0.1 (its own RS256 key, its own JWKS server),
 * configured through OIDC_PROVIDERS before the API starts. Tokens it signs are accepted with the mapped
 * roles; anything else an attacker can think of is not.
 */

const AUDIENCE = 'charge-records-sso';
const KID = 'idp-key-1';

let api: LocalApi;
let admin: string;
let idp: Awaited<ReturnType<typeof countingServer>>;
let elsewhere: Awaited<ReturnType<typeof countingServer>>;
let issuer: string;
let idpKey: CryptoKey;
let rogueKey: CryptoKey;
let publicJwk: JWK;
/** A second identity provider whose JWKS the tests change, or take down (503). */
const rotating = { keys: [] as JWK[], up: true, hits: 0 };
let rotatingServer: Server;
let rotatingIssuer: string;

beforeAll(async () => {
  rotatingServer = createServer((_req, res) => {
    rotating.hits++;
    if (!rotating.up) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: rotating.keys }));
  });
  await new Promise<void>((ok) => rotatingServer.listen(0, '127.0.0.1', () => ok()));
  rotatingIssuer = `http://127.0.0.1:${(rotatingServer.address() as AddressInfo).port}/rotating`;
  const pair = await generateKeyPair('RS256', { extractable: true });
  idpKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  rogueKey = (await generateKeyPair('RS256', { extractable: true })).privateKey;
  idp = await countingServer(() => ({ keys: [publicJwk] }));
  // A server no one should ever call: tokens name it in jku.
  elsewhere = await countingServer(() => ({ keys: [publicJwk] }));
  issuer = `${idp.url}/realms/plant`;
  vi.stubEnv('RATE_LIMIT_PER_MINUTE', '10000');
  vi.stubEnv('LOGIN_RATE_LIMIT_PER_MINUTE', '10000');
  vi.stubEnv(
    'OIDC_PROVIDERS',
    JSON.stringify([
      {
        issuer,
        audience: AUDIENCE,
        jwksUri: `${idp.url}/realms/plant/protocol/openid-connect/certs`,
        rolesClaim: 'groups',
        roleMap: {
          'charge-viewers': 'viewer',
          'charge-operators': 'operator',
          'plant-qa': ['quality_manager', 'auditor'],
          'charge-admins': 'admin',
        },
      },
      {
        issuer: rotatingIssuer,
        audience: AUDIENCE,
        jwksUri: `${rotatingIssuer}/certs`,
        roleMap: { 'charge-viewers': 'viewer' },
      },
    ]),
  );
  resetConfig();
  resetOidcVerifiers();
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(async () => {
  await api.stop();
  await idp.close();
  await elsewhere.close();
  rotatingServer.closeAllConnections();
  await new Promise((ok) => rotatingServer.close(ok));
  vi.unstubAllEnvs();
  resetConfig();
  resetOidcVerifiers();
});

interface TokenOptions {
  sub?: string;
  groups?: unknown;
  iss?: string;
  aud?: string;
  typ?: string;
  key?: CryptoKey;
  kid?: string;
  /** null: the claim is left out. */
  iat?: number | null;
  exp?: number | null;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

const now = () => Math.floor(Date.now() / 1000);
const subject = () => `sub-${randomBytes(6).toString('hex')}`;

function idpToken(o: TokenOptions = {}): Promise<string> {
  const iat = o.iat === undefined ? now() : o.iat;
  const exp = o.exp === undefined ? (iat ?? now()) + 600 : o.exp;
  const sub = o.sub ?? subject();
  const jwt = new SignJWT({ groups: o.groups ?? ['charge-viewers'], preferred_username: `user-${sub}`, ...o.claims })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? KID, ...(o.typ ? { typ: o.typ } : {}), ...o.header })
    .setIssuer(o.iss ?? issuer)
    .setAudience(o.aud ?? AUDIENCE)
    .setSubject(sub);
  if (iat !== null) jwt.setIssuedAt(iat);
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(o.key ?? idpKey);
}

const charge = { articleId: 'SSO-1', quantity: 3, unit: 'pcs', productionDate: '2026-02-01' };

describe('tokens from the configured identity provider', () => {
  it('a mapped group gets the mapped role: viewer can read charges, is refused writes and user administration', async () => {
    const token = await idpToken({ groups: ['charge-viewers'] });
    expect((await api.request('/charges', { token })).status).toBe(200);
    expectError(await api.request('/charges', { method: 'POST', token, body: charge }), 403, 'FORBIDDEN');
    expectError(
      await api.request('/users', {
        method: 'POST',
        token,
        body: { username: 'x-user', password: 'long-enough-password', roles: ['admin'] },
      }),
      403,
      'FORBIDDEN',
    );
    expectError(await api.request('/users', { token }), 403, 'FORBIDDEN');
  });

  it('roles claim as an array and as a space-separated string', async () => {
    const asArray = await idpToken({ groups: ['charge-viewers', 'charge-operators'] });
    expect((await api.request('/charges', { method: 'POST', token: asArray, body: charge })).status).toBe(201);
    const asString = await idpToken({ groups: 'charge-viewers charge-operators' });
    expect((await api.request('/charges', { method: 'POST', token: asString, body: charge })).status).toBe(201);
    const multi = await idpToken({ groups: 'plant-qa' });
    expect((await api.request('/audit?limit=1', { token: multi })).status).toBe(200);
    const me = await api.request('/users/me', { token: multi });
    expect(me.status).toBe(200);
  });

  it('GET /users/me shows the roles and permissions in effect — the mapped ones, though an SSO user stores none', async () => {
    const res = await api.request('/users/me', { token: await idpToken({ groups: ['plant-qa', 'canteen-staff'] }) });
    expect(res.status, res.text).toBe(200);
    const me = res.json as { roles: string[]; permissions: string[]; source: string };
    expect(me.source).toBe(`oidc:${issuer}`);
    expect([...me.roles].sort()).toEqual(['auditor', 'quality_manager']);
    expect(me.permissions).toEqual(expect.arrayContaining(['charges:release', 'audit:read', 'reports:manage']));
    expect(me.permissions).not.toContain('users:manage');
    // The same user with another token: what that token grants now, nothing remembered from the last one.
    const sub = subject();
    const asViewer = (await api.request('/users/me', { token: await idpToken({ sub, groups: ['charge-viewers'] }) }))
      .json as { roles: string[]; permissions: string[] };
    expect(asViewer).toMatchObject({ roles: ['viewer'], permissions: ['charges:read'] });
    const unmapped = (await api.request('/users/me', { token: await idpToken({ sub, groups: ['canteen-staff'] }) }))
      .json as { roles: string[]; permissions: string[] };
    expect(unmapped).toMatchObject({ roles: [], permissions: [] });
    // And a local user's are their stored ones, as before.
    const admins = (await api.request('/users/me', { token: admin })).json as {
      roles: string[];
      permissions: string[];
    };
    expect(admins.roles).toEqual(['admin']);
    expect(admins.permissions).toEqual(expect.arrayContaining(['users:manage', 'keys:rotate', 'metrics:read']));
  });

  it('an RFC 9068 access token (typ: at+jwt) is accepted', async () => {
    const token = await idpToken({ typ: 'at+jwt' });
    expect((await api.request('/charges', { token })).status).toBe(200);
  });

  it('an unmapped group is authenticated, but has no permission', async () => {
    const token = await idpToken({ groups: ['canteen-staff'] });
    expect((await api.request('/users/me', { token })).status).toBe(200);
    expectError(await api.request('/charges', { token }), 403, 'FORBIDDEN');
  });

  it('group names equal to our role or permission names grant nothing unless mapped; other claims are not read', async () => {
    const token = await idpToken({
      groups: ['admin', 'users:manage', 'viewer'],
      claims: { roles: ['admin'], permissions: ['users:manage'] },
    });
    expect((await api.request('/users/me', { token })).status).toBe(200);
    expectError(await api.request('/users', { token }), 403, 'FORBIDDEN');
    expectError(await api.request('/charges', { token }), 403, 'FORBIDDEN');
  });

  it('the user is created on first sight, with source oidc:<issuer>, and found again by issuer + sub', async () => {
    const sub = subject();
    const token = await idpToken({ sub, claims: { preferred_username: `sso-${sub}` } });
    const first = await api.request('/users/me', { token });
    expect(first.status, first.text).toBe(200);
    const me = first.json as { userId: string; username: string; source: string };
    expect(me.source).toBe(`oidc:${issuer}`);
    const again = (await api.request('/users/me', { token: await idpToken({ sub }) })).json as { userId: string };
    expect(again.userId).toBe(me.userId);

    const list = (await api.request('/users?limit=100', { token: admin })).json as {
      items: Array<{ userId: string; source: string }>;
    };
    const listed = list.items.find((u) => u.userId === me.userId);
    expect(listed?.source).toBe(`oidc:${issuer}`);
    // An SSO user has no local password: it cannot log in with one.
    const login = await api.request('/auth/login', {
      method: 'POST',
      body: { username: me.username, password: 'any-password-at-all' },
    });
    expect401(login);
  });

  it('another subject with the same preferred_username never becomes the first user', async () => {
    const name = `twin-${randomBytes(4).toString('hex')}`;
    const first = (await api.request('/users/me', { token: await idpToken({ claims: { preferred_username: name } }) }))
      .json as { userId: string };
    const res = await api.request('/users/me', { token: await idpToken({ claims: { preferred_username: name } }) });
    if (res.status === 200) expect((res.json as { userId: string }).userId).not.toBe(first.userId);
    else expect401(res);
  });

  it('a second subject whose preferred_username is taken still signs in, as a user of its own', async () => {
    // OIDC Core §5.1: preferred_username is not unique; the user is identified by issuer + sub.
    const name = `reused-${randomBytes(4).toString('hex')}`;
    const first = await api.request('/users/me', { token: await idpToken({ claims: { preferred_username: name } }) });
    expect(first.status, first.text).toBe(200);
    const second = await api.request('/users/me', { token: await idpToken({ claims: { preferred_username: name } }) });
    expect(second.status, second.text).toBe(200);
    expect((second.json as { userId: string }).userId).not.toBe((first.json as { userId: string }).userId);
  });

  it('disabling the SSO user (admin PATCH) → their next request is 401, and so is any new token', async () => {
    const sub = subject();
    const token = await idpToken({ sub });
    const me = (await api.request('/users/me', { token })).json as { userId: string };
    const res = await api.request(`/users/${me.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', disabled: true },
    });
    expect(res.status, res.text).toBe(200);
    expect401(await api.request('/charges', { token }));
    expect401(await api.request('/charges', { token: await idpToken({ sub, iat: now() + 1 }) }));
  });

  it('admin revoke-tokens on an SSO user → their current token is 401; a token issued afterwards works', async () => {
    const sub = subject();
    const token = await idpToken({ sub });
    const me = (await api.request('/users/me', { token })).json as { userId: string };
    expect((await api.request(`/users/${me.userId}/revoke-tokens`, { method: 'POST', token: admin })).status).toBe(204);
    expect401(await api.request('/charges', { token }));
    expect((await api.request('/charges', { token: await idpToken({ sub, iat: now() + 2 }) })).status).toBe(200);
  });

  it('an SSO user can log out (204), and that access token is dead on the next request', async () => {
    const token = await idpToken({ groups: ['charge-viewers'] });
    expect((await api.request('/charges', { token })).status).toBe(200);
    const res = await api.request('/auth/logout', { method: 'POST', token });
    expect(res.status, res.text).toBe(204);
    expect401(await api.request('/charges', { token }));
  });
});

describe('revocations never start out expired', () => {
  it('revokeAccessToken with an exp of 0, NaN or in the past still keeps the revocation for a while', async () => {
    const t = now();
    for (const [jti, exp] of [
      ['zero', 0],
      ['nan', Number.NaN],
      ['past', t - 10],
    ] as const) {
      await revokeAccessToken(`fallback-${jti}`, exp, t);
      const item = (
        await documentDb().send(
          new GetCommand({ TableName: tableName('auth-state'), Key: { pk: `revoked#fallback-${jti}` } }),
        )
      ).Item;
      expect(item?.expiresAt, jti).toBeGreaterThan(t + config().ACCESS_TOKEN_TTL_SECONDS);
    }
    // A usable exp is kept as it is (plus the verifier's clock skew).
    await revokeAccessToken('fallback-usable', t + 600, t);
    const usable = (
      await documentDb().send(
        new GetCommand({ TableName: tableName('auth-state'), Key: { pk: 'revoked#fallback-usable' } }),
      )
    ).Item;
    expect(usable?.expiresAt).toBe(t + 600 + config().clockSkewSeconds);
  });
});

describe('tokens the identity provider did not issue for us', () => {
  it('wrong audience → 401', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ aud: 'some-other-app' }) }));
  });

  it('wrong issuer → 401, also our own issuer name on an IdP-signed token', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ iss: `${idp.url}/realms/other` }) }));
    expect401(await api.request('/charges', { token: await idpToken({ iss: `${issuer}/` }) }));
    expect401(await api.request('/charges', { token: await idpToken({ iss: config().JWT_ISSUER }) }));
  });

  it('expired → 401', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ iat: now() - 3600, exp: now() - 600 }) }));
  });

  it('no exp → 401: such a token would never expire, and logout could not revoke it (it kept working after a 204)', async () => {
    const token = await idpToken({ exp: null, typ: 'at+jwt', claims: { jti: randomBytes(8).toString('hex') } });
    expect401(await api.request('/users/me', { token }));
    expect401(await api.request('/charges', { token }));
    expect401(await api.request('/auth/logout', { method: 'POST', token }));
    expect401(await api.request('/users/me', { token }));
  });

  it('exp or iat that is not a number → 401', async () => {
    expect401(
      await api.request('/charges', { token: await idpToken({ exp: null, claims: { exp: String(now() + 600) } }) }),
    );
    expect401(await api.request('/charges', { token: await idpToken({ iat: null, claims: { iat: String(now()) } }) }));
  });

  it('no iat → 401 (RFC 9068 §2.2 requires it; revoke-tokens compares it)', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ iat: null, exp: now() + 600 }) }));
  });

  it('iat in the future (beyond the clock skew) → 401: it would outlive revoke-tokens and a disable', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ iat: now() + 3600, exp: now() + 4200 }) }));
    // Within the skew it is fine.
    expect(
      (await api.request('/charges', { token: await idpToken({ iat: now() + 30, exp: now() + 600 }) })).status,
    ).toBe(200);
  });

  it('a token that lives longer than a day (exp − iat) → 401; a day exactly is fine', async () => {
    const day = MAX_EXTERNAL_TOKEN_LIFETIME_SECONDS;
    expect401(await api.request('/charges', { token: await idpToken({ iat: now(), exp: now() + day + 1 }) }));
    expect401(await api.request('/charges', { token: await idpToken({ iat: now(), exp: now() + 365 * day }) }));
    expect((await api.request('/charges', { token: await idpToken({ iat: now(), exp: now() + day }) })).status).toBe(
      200,
    );
  });

  it('a token signed by a different key with the right kid → 401', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ key: rogueKey }) }));
    expect401(await api.request('/charges', { token: await idpToken({ key: rogueKey, kid: 'rogue-kid' }) }));
  });

  it('alg none and HS256 (the IdP public key as secret) → 401', async () => {
    const claims = {
      iss: issuer,
      aud: AUDIENCE,
      sub: subject(),
      iat: now(),
      exp: now() + 600,
      groups: ['charge-operators'],
    };
    expect401(await api.request('/charges', { token: unsigned({ alg: 'none', kid: KID }, claims) }));
    const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: KID })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const mac = createHmac('sha256', JSON.stringify(publicJwk)).update(input).digest('base64url');
    expect401(await api.request('/charges', { token: `${input}.${mac}` }));
  });

  it('jku / x5u / jwk headers are never fetched or used: only the configured jwksUri is', async () => {
    const header = { jku: `${elsewhere.url}/jwks`, x5u: `${elsewhere.url}/cert`, jwk: publicJwk };
    expect401(await api.request('/charges', { token: await idpToken({ key: rogueKey, kid: 'attacker', header }) }));
    // Even a correctly signed token does not make the verifier follow the header.
    expect((await api.request('/charges', { token: await idpToken({ header }) })).status).toBe(200);
    expect(elsewhere.hits).toEqual([]);
    expect(idp.hits.every((path) => path === '/realms/plant/protocol/openid-connect/certs')).toBe(true);
  });
});

describe('identities only well-formed Unicode can name', () => {
  it('a sub with a lone surrogate → 401: the user, its username and audit chain derive from it', async () => {
    expect401(
      await api.request('/users/me', {
        token: await idpToken({ sub: `ghost\ud800${randomBytes(3).toString('hex')}` }),
      }),
    );
  });

  it('a preferred_username with a lone surrogate is passed over: the user is named sub@host', async () => {
    const sub = subject();
    const res = await api.request('/users/me', {
      token: await idpToken({ sub, claims: { preferred_username: 'eve\udc00' } }),
    });
    expect(res.status, res.text).toBe(200);
    expect((res.json as { username: string }).username).toBe(`${sub}@${new URL(issuer).host}`);
  });
});

describe("an SSO user's roles are the identity provider's", () => {
  type Listed = { userId: string; roles: string[]; rolesFrom: string; version: number; displayName?: string };

  async function ssoUser(groups: string[]): Promise<{ sub: string; userId: string }> {
    const sub = subject();
    const res = await api.request('/users/me', { token: await idpToken({ sub, groups }) });
    expect(res.status, res.text).toBe(200);
    return { sub, userId: (res.json as { userId: string }).userId };
  }

  async function getUser(userId: string): Promise<Listed> {
    const res = await api.request(`/users/${userId}`, { token: admin });
    expect(res.status, res.text).toBe(200);
    return res.json as Listed;
  }

  /** The user's audit records once the one for `version` has arrived (the stream is ordered per item). */
  const recordsUpTo = (userId: string, version: number): Promise<Array<{ action: string; version: number | null }>> =>
    eventually(async () => {
      const res = await api.request(`/audit?entityType=user&entityId=${userId}&limit=100`, { token: admin });
      expect(res.status, res.text).toBe(200);
      const records = (res.json as { items: Array<{ action: string; version: number | null }> }).items;
      expect(
        records.map((r) => r.version),
        `audit record for version ${version} of user ${userId}`,
      ).toContain(version);
      return records;
    });

  it('PATCH /users/{id} with roles is 409 naming body.roles: nothing written, no role.change; other fields still change', async () => {
    // Prepare: an SSO quality manager (mapped from plant-qa).
    const user = await ssoUser(['plant-qa']);

    // Act: the audit's request (it answered 200 with roles that never took effect), and variants.
    for (const body of [{ roles: ['viewer'] }, { roles: [] }, { roles: ['admin'], displayName: 'Not this either' }]) {
      const res = await api.request(`/users/${user.userId}`, {
        method: 'PATCH',
        token: admin,
        body: { reason: 'Test change', ...body },
      });
      const error = expectError(res, 409, 'CONFLICT');
      expect(error.details).toEqual([
        {
          path: 'body.roles',
          code: 'identity_provider',
          message: expect.stringMatching(/identity provider.*rolesClaim.*roleMap/),
        },
      ]);
    }

    // Assess: nothing written; the token still decides.
    const stored = await getUser(user.userId);
    expect(stored).toMatchObject({ version: 1, roles: [], rolesFrom: 'identity-provider' });
    expect(stored).not.toHaveProperty('displayName');
    const me = (await api.request('/users/me', { token: await idpToken({ sub: user.sub, groups: ['plant-qa'] }) }))
      .json as Listed;
    expect(me.rolesFrom).toBe('identity-provider');
    expect([...me.roles].sort()).toEqual(['auditor', 'quality_manager']);
    // The fields that are ours still change.
    const email = `sso-${user.sub}@example.com`;
    const changed = await api.request(`/users/${user.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', displayName: 'Sam SSO', email },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({
      version: 2,
      displayName: 'Sam SSO',
      email,
      roles: [],
      rolesFrom: 'identity-provider',
    });
    const records = await recordsUpTo(user.userId, 2);
    expect(records.map((r) => r.action)).toEqual(['create', 'update']);
  });

  it('GET /users and GET /users/{id} say where roles come from: an SSO admin does not read as "no roles" without a word', async () => {
    const sso = await ssoUser(['charge-admins']);
    const local = (await api.request('/users/me', { token: admin })).json as Listed;
    expect(local.rolesFrom).toBe('local');
    expect(await getUser(sso.userId)).toMatchObject({ roles: [], rolesFrom: 'identity-provider' });

    const listed: Listed[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.request(`/users?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      expect(res.status, res.text).toBe(200);
      const page = res.json as { items: Listed[]; nextCursor: string | null };
      listed.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(listed.find((u) => u.userId === sso.userId)).toMatchObject({ roles: [], rolesFrom: 'identity-provider' });
    expect(listed.find((u) => u.userId === local.userId)).toMatchObject({ roles: ['admin'], rolesFrom: 'local' });
    for (const user of listed) expect(['local', 'identity-provider']).toContain(user.rolesFrom);
  });

  it('an SSO admin cannot demote, disable or delete the last enabled local admin: SSO admins do not count', async () => {
    // Prepare: the bootstrap admin is the only local admin; an SSO admin holds users:manage through the IdP.
    const ssoAdmin = await idpToken({ groups: ['charge-admins'] });
    const local = (await api.request('/users/me', { token: admin })).json as Listed;

    // Act + Assess
    for (const [method, body] of [
      ['PATCH', { disabled: true }],
      ['PATCH', { roles: ['viewer'] }],
      ['DELETE', undefined],
    ] as const) {
      const error = expectError(
        await api.request(`/users/${local.userId}`, {
          method,
          token: ssoAdmin,
          body: { reason: 'Test change', ...body },
        }),
        409,
        'CONFLICT',
      );
      expect(error.message).toMatch(/no enabled local administrator/);
    }
    expect(await getUser(local.userId)).toMatchObject({ roles: ['admin'], version: local.version });
    expect((await api.request('/users/me', { token: admin })).status).toBe(200);

    // With a second local admin either may go; then the other is the last again.
    const created = await api.request('/users', {
      method: 'POST',
      token: ssoAdmin,
      body: {
        username: `second-admin-${randomBytes(3).toString('hex')}`,
        password: `pw-${randomBytes(12).toString('hex')}`,
        roles: ['admin'],
        reason: 'Second local admin',
      },
    });
    expect(created.status, created.text).toBe(201);
    const second = created.json as Listed;
    const demoted = await api.request(`/users/${second.userId}`, {
      method: 'PATCH',
      token: ssoAdmin,
      body: { reason: 'Test change', roles: ['viewer'] },
    });
    expect(demoted.status, demoted.text).toBe(200);
    expectError(
      await api.request(`/users/${local.userId}`, {
        method: 'DELETE',
        token: ssoAdmin,
        body: { reason: 'Test removal' },
      }),
      409,
      'CONFLICT',
    );
  });
});

describe("the identity provider's JWKS is not trusted forever", () => {
  /** The JWKS freshness clock, moved by the tests (token lifetimes stay on the real clock). */
  let clock: number;
  let keyA: CryptoKey;
  let keyB: CryptoKey;
  let jwkB: JWK;
  const token = (key: CryptoKey, kid: string) => idpToken({ iss: rotatingIssuer, key, kid });
  const me = async (key: CryptoKey, kid: string) => api.request('/users/me', { token: await token(key, kid) });

  beforeAll(async () => {
    const a = await generateKeyPair('RS256', { extractable: true });
    const b = await generateKeyPair('RS256', { extractable: true });
    keyA = a.privateKey;
    keyB = b.privateKey;
    jwkB = { ...(await exportJWK(b.publicKey)), kid: 'rot-b', alg: 'RS256', use: 'sig' };
    rotating.keys = [{ ...(await exportJWK(a.publicKey)), kid: 'rot-a', alg: 'RS256', use: 'sig' }, jwkB];
    clock = Date.now();
    resetOidcVerifiers({ now: () => clock });
  });
  afterAll(() => resetOidcVerifiers());

  it(`a key the IdP withdrew verifies no more once the JWKS is ${EXTERNAL_JWKS_MAX_AGE_SECONDS} s old (it did until a restart)`, async () => {
    // Prepare
    expect((await me(keyA, 'rot-a')).status).toBe(200);
    rotating.keys = [jwkB]; // withdrawn: rotated out, or compromised

    // Act + Assess: until the JWKS is due, the cached one is used as it is — no fetch per request …
    const hits = rotating.hits;
    expect((await me(keyA, 'rot-a')).status).toBe(200);
    expect(rotating.hits).toBe(hits);
    // … then it is fetched again before a token is trusted.
    clock += EXTERNAL_JWKS_MAX_AGE_SECONDS * 1000;
    expect401(await me(keyA, 'rot-a'));
    expect((await me(keyB, 'rot-b')).status).toBe(200);
  });

  it(`an unreachable IdP: the last JWKS is kept ${EXTERNAL_JWKS_GRACE_SECONDS} s more, then 401 (fail closed) until the IdP answers again`, async () => {
    // Prepare
    rotating.up = false;
    clock += EXTERNAL_JWKS_MAX_AGE_SECONDS * 1000;
    const hits = rotating.hits;

    // Act + Assess: within the grace the last good JWKS serves, and a dead IdP is asked once per retry period.
    expect((await me(keyB, 'rot-b')).status).toBe(200);
    expect((await me(keyB, 'rot-b')).status).toBe(200);
    expect(rotating.hits).toBe(hits + 1);
    // Past the grace: closed.
    clock += EXTERNAL_JWKS_GRACE_SECONDS * 1000;
    expect401(await me(keyB, 'rot-b'));
    rotating.up = true;
    // The next fetch waits for the retry period; then the IdP's keys are back.
    expect401(await me(keyB, 'rot-b'));
    clock += EXTERNAL_JWKS_RETRY_SECONDS * 1000;
    expect((await me(keyB, 'rot-b')).status).toBe(200);
  });
});
