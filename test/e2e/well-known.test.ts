import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '#platform/config';
import { resetSigningAdapters } from '#signing/adapters';
import { mintAccessToken, resetAccessTokens, verifyAccessToken } from '#signing/tokens';
import { childEnv } from '#local/child-env';
import { PROJECT_ROOT } from '#local/paths';
import { adminToken } from '#test/support/auth';
import { userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

const run = promisify(execFile);
let api: LocalApi;
/** The forced rotation through the API (set by the POST /admin/keys/rotate test, read by the audit test). */
let apiRotation: { rotationId: string; kid: string; previousKid: string } | undefined;

interface Jwks {
  keys: { kid: string; kty: string; alg: string; use: string; n: string; e: string }[];
}

beforeAll(async () => {
  // Module-level caches must pick up the state directory this file's runtime creates.
  resetConfig();
  resetSigningAdapters();
  resetAccessTokens();
  api = await startLocalApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('/.well-known and key rotation through the local server', () => {
  it('publishes the first signing key, created at start-up, as an RS256 JWKS', async () => {
    const res = await api.request('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const jwks = res.json as Jwks;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('serves the OpenID discovery document pointing at our JWKS and login', async () => {
    const res = await api.request('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    const doc = res.json as Record<string, unknown>;
    const issuer = process.env.JWT_ISSUER ?? 'http://127.0.0.1:3000';
    expect(doc).toMatchObject({
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      token_endpoint: `${issuer}/auth/login`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  it('reports the signing key in readiness', async () => {
    const res = await api.request('/status/health/readiness');
    expect(res.status).toBe(200);
    expect((res.json as { checks: Record<string, { status: string }> }).checks['signing-key']).toMatchObject({
      status: 'ok',
    });
  });

  it('refuses POST /admin/keys/rotate without a token', async () => {
    const res = await api.request('/admin/keys/rotate', { method: 'POST' });
    expect(res.status).toBe(401);
    const jwks = (await api.request('/.well-known/jwks.json')).json as Jwks;
    expect(jwks.keys).toHaveLength(1);
  });

  it('sees `npm run rotate-keys` from another process: JWKS grows, old tokens keep working', async () => {
    // Prepare: a token from before the rotation.
    const before = await mintAccessToken({ sub: 'user-1', username: 'alice', roles: ['viewer'] });
    const kidsBefore = ((await api.request('/.well-known/jwks.json')).json as Jwks).keys.map((k) => k.kid);

    // Act: the real script, in its own process, on the server's state directory.
    const { stdout } = await run(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['scripts/rotate-keys.ts'], {
      cwd: PROJECT_ROOT,
      env: childEnv({ LOCAL_STATE_DIR: process.env.LOCAL_STATE_DIR, LOG_LEVEL: 'SILENT' }),
    });

    // Assess
    expect(stdout).toMatch(/Rotated: AWSCURRENT is now kid/);
    const kidsAfter = ((await api.request('/.well-known/jwks.json')).json as Jwks).keys.map((k) => k.kid);
    expect(kidsAfter).toHaveLength(2);
    expect(kidsAfter[1]).toBe(kidsBefore[0]);
    const after = await mintAccessToken({ sub: 'user-1', username: 'alice', roles: ['viewer'] });
    expect(after.kid).toBe(kidsAfter[0]);
    expect(after.kid).not.toBe(before.kid);
    await expect(verifyAccessToken(before.token)).resolves.toMatchObject({ jti: before.claims.jti });
    await expect(verifyAccessToken(after.token)).resolves.toMatchObject({ jti: after.claims.jti });
  });

  it('refuses a second rotation inside the overlap window unless forced', async () => {
    const refused = await run(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['scripts/rotate-keys.ts'], {
      cwd: PROJECT_ROOT,
      env: childEnv({ LOG_LEVEL: 'SILENT' }),
    }).catch((err: { code: number; stderr: string }) => err);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(/overlap window is still open/);
    const kids = ((await api.request('/.well-known/jwks.json')).json as Jwks).keys;
    expect(kids).toHaveLength(2);
  });

  it('POST /admin/keys/rotate: 403 without keys:rotate, 409 inside the overlap window, 202 when forced', async () => {
    // Prepare: an admin token minted now (by the key the script made), and a viewer.
    const admin = await adminToken(api);
    const viewer = await userWithRoles(api, ['viewer']);
    const kidsBefore = ((await api.request('/.well-known/jwks.json')).json as Jwks).keys.map((k) => k.kid);

    // Act + Assess
    expect((await api.request('/admin/keys/rotate', { method: 'POST', token: viewer.token })).status).toBe(403);

    const early = await api.request('/admin/keys/rotate', { method: 'POST', token: admin });
    expect(early.status).toBe(409);
    expect(Number(early.headers['retry-after'])).toBeGreaterThan(0);
    expect((early.json as { error: { code: string } }).error.code).toBe('CONFLICT');

    const forced = await api.request('/admin/keys/rotate?force=true', { method: 'POST', token: admin });
    expect(forced.status, forced.text).toBe(202);
    // The documented shape (docs/signing-keys.md): locally the rotation has finished, so the kid is known.
    expect(forced.json).toEqual({
      status: 'rotated',
      rotationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      kid: expect.any(String),
    });
    const { rotationId, kid } = forced.json as { rotationId: string; kid: string };
    const kidsAfter = ((await api.request('/.well-known/jwks.json')).json as Jwks).keys.map((k) => k.kid);
    expect(kidsAfter).toEqual([kid, kidsBefore[0]]);
    apiRotation = { rotationId, kid, previousKid: kidsBefore[0]! };

    // The admin's token, signed by what is now AWSPREVIOUS, still gets through the authorizer.
    const again = await api.request('/admin/keys/rotate', { method: 'POST', token: admin });
    expect(again.status).toBe(409);
  });

  it('puts every rotation on the audit trail: the API caller as actor, system for the start-up key and the script', async () => {
    // Prepare: an auditor, and who the admin is.
    expect(apiRotation).toBeDefined();
    const { rotationId, kid, previousKid } = apiRotation!;
    const auditor = await userWithRoles(api, ['auditor']);
    const me = (await api.request('/users/me', { token: await adminToken(api) })).json as {
      userId: string;
      username: string;
    };

    // Act
    const res = await api.request(`/audit?entityType=signing-key&entityId=${kid}`, { token: auditor.token });
    const all = await api.request('/audit?entityType=signing-key&action=key.rotation&limit=100', {
      token: auditor.token,
    });
    const verify = await api.request(`/audit/verify?entityType=signing-key&entityId=${kid}`, { token: auditor.token });

    // Assess: one record for the API rotation, naming the admin and the kids, tied to the 202's rotationId
    expect(res.status, res.text).toBe(200);
    const { items } = res.json as { items: Record<string, unknown>[] };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      entityType: 'signing-key',
      entityId: kid,
      action: 'key.rotation',
      actor: { userId: me.userId, username: 'admin' },
      requestId: rotationId,
      changes: { current: { from: previousKid, to: kid } },
    });
    expect((verify.json as { valid: boolean }).valid).toBe(true);
    // Three rotations so far: the first key at start-up, `npm run rotate-keys`, the API's; only the last has a caller.
    const records = (
      all.json as { items: { actor: { userId: string }; changes: { current: { from: string | null } } }[] }
    ).items;
    expect(records).toHaveLength(3);
    expect(records.map((r) => r.actor.userId).sort()).toEqual([me.userId, 'system', 'system'].sort());
    expect(records.filter((r) => r.changes.current.from === null)).toHaveLength(1);
    // Never key material or a secret value: only public kids.
    const text = JSON.stringify(records);
    expect(text).not.toMatch(/PRIVATE KEY|local-[0-9a-f-]{36}|keyArn|keyId/);
  });
});
