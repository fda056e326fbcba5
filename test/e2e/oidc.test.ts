import { createHmac, randomBytes } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../functions/shared/config';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_EXTERNAL_TOKEN_LIFETIME_SECONDS, resetOidcVerifiers } from '../../functions/shared/auth/oidc';
import { revokeAccessToken } from '../../functions/shared/auth/sessions';
import { documentDb } from '../../functions/shared/dynamo';
import { tableName } from '../../functions/shared/tables';
import { expectError } from '../support/assertions';
import { adminToken } from '../support/auth';
import { type LocalApi, startLocalApi } from '../support/local-api';
import { countingServer, expect401, unsigned } from '../support/security';

/**
 * SPEC §5 external sign-in: a test identity provider on 127.0.0.1 (its own RS256 key, its own JWKS server),
 * configured through OIDC_PROVIDERS before the API starts. Tokens it signs are accepted with the mapped
 * roles; anything else an attacker can think of is not.
 */

process.env.RATE_LIMIT_PER_MINUTE = '10000';
process.env.LOGIN_RATE_LIMIT_PER_MINUTE = '10000';

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

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  idpKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  rogueKey = (await generateKeyPair('RS256', { extractable: true })).privateKey;
  idp = await countingServer(() => ({ keys: [publicJwk] }));
  // A server no one should ever call: tokens name it in jku.
  elsewhere = await countingServer(() => ({ keys: [publicJwk] }));
  issuer = `${idp.url}/realms/plant`;
  process.env.OIDC_PROVIDERS = JSON.stringify([
    {
      issuer,
      audience: AUDIENCE,
      jwksUri: `${idp.url}/realms/plant/protocol/openid-connect/certs`,
      rolesClaim: 'groups',
      roleMap: { 'charge-viewers': 'viewer', 'charge-operators': 'operator', 'plant-qa': ['quality_manager', 'auditor'] },
    },
  ]);
  resetConfig();
  resetOidcVerifiers();
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(async () => {
  await api.stop();
  await idp.close();
  await elsewhere.close();
  delete process.env.OIDC_PROVIDERS;
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
    expectError(await api.request('/users', { method: 'POST', token, body: { username: 'x-user', password: 'long-enough-password', roles: ['admin'] } }), 403, 'FORBIDDEN');
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
    const asViewer = (await api.request('/users/me', { token: await idpToken({ sub, groups: ['charge-viewers'] }) })).json as { roles: string[]; permissions: string[] };
    expect(asViewer).toMatchObject({ roles: ['viewer'], permissions: ['charges:read'] });
    const unmapped = (await api.request('/users/me', { token: await idpToken({ sub, groups: ['canteen-staff'] }) })).json as { roles: string[]; permissions: string[] };
    expect(unmapped).toMatchObject({ roles: [], permissions: [] });
    // And a local user's are their stored ones, as before.
    const admins = (await api.request('/users/me', { token: admin })).json as { roles: string[]; permissions: string[] };
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
    const token = await idpToken({ groups: ['admin', 'users:manage', 'viewer'], claims: { roles: ['admin'], permissions: ['users:manage'] } });
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

    const list = (await api.request('/users?limit=100', { token: admin })).json as { items: Array<{ userId: string; source: string }> };
    const listed = list.items.find((u) => u.userId === me.userId);
    expect(listed?.source).toBe(`oidc:${issuer}`);
    // An SSO user has no local password: it cannot log in with one.
    const login = await api.request('/auth/login', { method: 'POST', body: { username: me.username, password: 'any-password-at-all' } });
    expect401(login);
  });

  it('another subject with the same preferred_username never becomes the first user', async () => {
    const name = `twin-${randomBytes(4).toString('hex')}`;
    const first = (await api.request('/users/me', { token: await idpToken({ claims: { preferred_username: name } }) })).json as { userId: string };
    const res = await api.request('/users/me', { token: await idpToken({ claims: { preferred_username: name } }) });
    if (res.status === 200) expect((res.json as { userId: string }).userId).not.toBe(first.userId);
    else expect401(res);
  });

  it('a second subject whose preferred_username is taken still signs in, as a user of its own', async () => {
    // OIDC Core §5.1: preferred_username is not unique; the user is identified by issuer + sub (SPEC §5).
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
    const res = await api.request(`/users/${me.userId}`, { method: 'PATCH', token: admin, body: { disabled: true } });
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
    for (const [jti, exp] of [['zero', 0], ['nan', Number.NaN], ['past', t - 10]] as const) {
      await revokeAccessToken(`fallback-${jti}`, exp, t);
      const item = (await documentDb().send(new GetCommand({ TableName: tableName('auth-state'), Key: { pk: `revoked#fallback-${jti}` } }))).Item;
      expect(item?.expiresAt, jti).toBeGreaterThan(t + config().ACCESS_TOKEN_TTL_SECONDS);
    }
    // A usable exp is kept as it is (plus the verifier's clock skew).
    await revokeAccessToken('fallback-usable', t + 600, t);
    const usable = (await documentDb().send(new GetCommand({ TableName: tableName('auth-state'), Key: { pk: 'revoked#fallback-usable' } }))).Item;
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
    expect401(await api.request('/charges', { token: await idpToken({ exp: null, claims: { exp: String(now() + 600) } }) }));
    expect401(await api.request('/charges', { token: await idpToken({ iat: null, claims: { iat: String(now()) } }) }));
  });

  it('no iat → 401 (RFC 9068 §2.2 requires it; revoke-tokens compares it)', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ iat: null, exp: now() + 600 }) }));
  });

  it('iat in the future (beyond the clock skew) → 401: it would outlive revoke-tokens and a disable', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ iat: now() + 3600, exp: now() + 4200 }) }));
    // Within the skew it is fine.
    expect((await api.request('/charges', { token: await idpToken({ iat: now() + 30, exp: now() + 600 }) })).status).toBe(200);
  });

  it('a token that lives longer than a day (exp − iat) → 401; a day exactly is fine', async () => {
    const day = MAX_EXTERNAL_TOKEN_LIFETIME_SECONDS;
    expect401(await api.request('/charges', { token: await idpToken({ iat: now(), exp: now() + day + 1 }) }));
    expect401(await api.request('/charges', { token: await idpToken({ iat: now(), exp: now() + 365 * day }) }));
    expect((await api.request('/charges', { token: await idpToken({ iat: now(), exp: now() + day }) })).status).toBe(200);
  });

  it('a token signed by a different key with the right kid → 401', async () => {
    expect401(await api.request('/charges', { token: await idpToken({ key: rogueKey }) }));
    expect401(await api.request('/charges', { token: await idpToken({ key: rogueKey, kid: 'rogue-kid' }) }));
  });

  it('alg none and HS256 (the IdP public key as secret) → 401', async () => {
    const claims = { iss: issuer, aud: AUDIENCE, sub: subject(), iat: now(), exp: now() + 600, groups: ['charge-operators'] };
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
