import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS, type Permission, type Role, ROLE_PERMISSIONS, ROLES } from '#platform/permissions';
import { type RouteDefinition, ROUTES } from '#platform/routes';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, type RequestOptions, startLocalApi } from '#test/support/local-api';
import { signIn } from '#test/support/security';
import { type Account, createAccount } from '#test/support/users';
import { stubEnvForAll } from '#test/support/env';
import { seedCharge } from '#test/support/charges';

/**
 * Table-driven: every route of the shared route table × every role (and a user with no role,
 * and no token at all). A route needing a permission the role lacks → 403; one it holds → the route's
 * real success status with a valid request; `authenticated` routes → every role; anonymous → 401.
 */

// This file makes a few hundred requests in a minute; rate limits are rate-limit.test.ts's subject.
stubEnvForAll({ RATE_LIMIT_PER_MINUTE: '100000', LOGIN_RATE_LIMIT_PER_MINUTE: '100000' });

let api: LocalApi;
let admin: string;
let adminId: string;
/** A user the users:manage routes can be pointed at without harming anyone in the test. */
let target: Account;

type Subject = Role | 'no-role';
interface Caller {
  subject: Subject;
  account: Account;
  token: string;
}
const callers = new Map<Subject, Caller>();

interface Call {
  path: string;
  options: RequestOptions;
  /** The status a caller holding the permission gets for this (valid) request; undefined: only "not 401/403". */
  success: number | undefined;
}

const strongPassword = () => `pw-${randomBytes(12).toString('hex')}`;
const chargeBody = { articleId: 'RBAC-1', quantity: 12.5, unit: 'kg', productionDate: '2026-03-01' };

async function newCharge(): Promise<{ id: string; etag: string }> {
  const { chargeId, version } = await seedCharge(api, admin, chargeBody);
  return { id: chargeId, etag: `"${version}"` };
}

/** A fresh user with a session, for routes that change the caller's account or end a session. */
async function throwawayOf(caller: Caller) {
  const roles = caller.subject === 'no-role' ? [] : [caller.subject];
  const account = await createAccount(api, roles, 'rbac-tmp');
  return { account, tokens: await signIn(api, account) };
}

/**
 * A valid request for each route (route key → how to build it). `permitted` tells whether the caller should
 * get through: resources that a successful call would consume are only made when it should.
 */
const RECIPES: Record<string, (caller: Caller | undefined, permitted: boolean) => Promise<Call>> = {
  'GET /status/health': async () => ({ path: '/status/health', options: {}, success: 200 }),
  'GET /status/health/liveness': async () => ({ path: '/status/health/liveness', options: {}, success: 200 }),
  'GET /status/health/readiness': async () => ({ path: '/status/health/readiness', options: {}, success: 200 }),
  'GET /status/health/detailed': async () => ({ path: '/status/health/detailed', options: {}, success: 200 }),
  'GET /metrics': async () => ({ path: '/metrics', options: {}, success: 200 }),
  'GET /openapi.json': async () => ({ path: '/openapi.json', options: {}, success: 200 }),
  'GET /docs': async () => ({ path: '/docs', options: {}, success: 200 }),
  'GET /.well-known/jwks.json': async () => ({ path: '/.well-known/jwks.json', options: {}, success: 200 }),
  'GET /.well-known/openid-configuration': async () => ({
    path: '/.well-known/openid-configuration',
    options: {},
    success: 200,
  }),
  'POST /auth/login': async () => ({
    path: '/auth/login',
    options: { method: 'POST', body: { username: target.username, password: target.password } },
    success: 200,
  }),
  'POST /auth/refresh': async () => ({
    path: '/auth/refresh',
    options: { method: 'POST', body: { refreshToken: (await signIn(api, target)).refreshToken } },
    success: 200,
  }),
  'POST /auth/logout': async (caller) => {
    // A session of its own: logout revokes the token it is called with.
    const token = caller ? (await signIn(api, caller.account)).accessToken : undefined;
    return { path: '/auth/logout', options: { method: 'POST', token }, success: 204 };
  },
  'GET /users/me': async () => ({ path: '/users/me', options: {}, success: 200 }),
  'PATCH /users/me': async () => ({
    path: '/users/me',
    options: { method: 'PATCH', body: { displayName: 'RBAC check' } },
    success: 200,
  }),
  'POST /users/me/password': async (caller, permitted) => {
    // Password change ends the user's other sessions: a throwaway user of the same role.
    if (!caller || !permitted) {
      return {
        path: '/users/me/password',
        options: { method: 'POST', body: { currentPassword: 'x', newPassword: strongPassword() } },
        success: 204,
      };
    }
    const { account, tokens } = await throwawayOf(caller);
    return {
      path: '/users/me/password',
      options: {
        method: 'POST',
        token: tokens.accessToken,
        body: { currentPassword: account.password, newPassword: strongPassword() },
      },
      success: 204,
    };
  },
  'POST /users': async () => ({
    path: '/users',
    options: {
      method: 'POST',
      body: {
        username: `rbac-new-${randomBytes(5).toString('hex')}`,
        password: strongPassword(),
        roles: ['viewer'],
        reason: 'RBAC matrix test',
      },
    },
    success: 201,
  }),
  'GET /users': async () => ({ path: '/users?limit=5', options: {}, success: 200 }),
  'GET /users/{id}': async () => ({ path: `/users/${target.userId}`, options: {}, success: 200 }),
  'PATCH /users/{id}': async () => ({
    path: `/users/${target.userId}`,
    options: {
      method: 'PATCH',
      body: { displayName: `Target ${randomBytes(2).toString('hex')}`, reason: 'RBAC matrix test' },
    },
    success: 200,
  }),
  'DELETE /users/{id}': async (_caller, permitted) => ({
    path: `/users/${permitted ? (await createAccount(api, ['viewer'], 'rbac-del')).userId : target.userId}`,
    options: { method: 'DELETE', body: { reason: 'RBAC matrix test' } },
    success: 204,
  }),
  'POST /users/{id}/unlock': async () => ({
    path: `/users/${target.userId}/unlock`,
    options: { method: 'POST' },
    success: 204,
  }),
  'POST /users/{id}/revoke-tokens': async (_caller, permitted) => ({
    path: `/users/${permitted ? (await createAccount(api, ['viewer'], 'rbac-rev')).userId : target.userId}/revoke-tokens`,
    options: { method: 'POST' },
    success: 204,
  }),
  'POST /admin/keys/rotate': async () => ({ path: '/admin/keys/rotate', options: { method: 'POST' }, success: 202 }),
  'POST /charges': async () => ({ path: '/charges', options: { method: 'POST', body: chargeBody }, success: 201 }),
  'GET /charges': async () => ({ path: '/charges?limit=5', options: {}, success: 200 }),
  'GET /charges/{id}': async () => ({ path: `/charges/${(await newCharge()).id}`, options: {}, success: 200 }),
  'PATCH /charges/{id}': async () => {
    const charge = await newCharge();
    return {
      path: `/charges/${charge.id}`,
      options: {
        method: 'PATCH',
        headers: { 'If-Match': charge.etag },
        body: { notes: 'checked', reason: 'RBAC matrix test' },
      },
      success: 200,
    };
  },
  'DELETE /charges/{id}': async () => {
    const charge = await newCharge();
    return {
      path: `/charges/${charge.id}`,
      options: { method: 'DELETE', headers: { 'If-Match': charge.etag }, body: { reason: 'RBAC matrix test' } },
      success: 204,
    };
  },
  'GET /charges/{id}/history': async () => ({
    path: `/charges/${(await newCharge()).id}/history`,
    options: {},
    success: 200,
  }),
  'GET /audit': async () => ({ path: '/audit?limit=5', options: {}, success: 200 }),
  'GET /audit/verify': async () => ({
    path: `/audit/verify?entityType=user&entityId=${adminId}`,
    options: {},
    success: 200,
  }),
};

const DUMMY_ID = '00000000-0000-4000-8000-000000000000';

async function newDefinition(): Promise<string> {
  const res = await api.request('/reports/definitions', {
    method: 'POST',
    token: admin,
    body: { name: `rbac-${randomBytes(3).toString('hex')}`, title: 'RBAC', kind: 'charges', format: 'csv' },
  });
  expect(res.status, res.text).toBe(201);
  return (res.json as { definitionId: string }).definitionId;
}

Object.assign(RECIPES, {
  'GET /charges/{id}/report.pdf': async () => ({
    path: `/charges/${(await newCharge()).id}/report.pdf?lang=en`,
    options: {},
    success: 200,
  }),
  'GET /reports/charges.csv': async () => ({ path: '/reports/charges.csv', options: {}, success: 200 }),
  'GET /reports/charges.xlsx': async () => ({ path: '/reports/charges.xlsx', options: {}, success: 200 }),
  'GET /reports/charges.pdf': async () => ({ path: '/reports/charges.pdf', options: {}, success: 200 }),
  'GET /reports/audit.csv': async () => ({ path: '/reports/audit.csv', options: {}, success: 200 }),
  'GET /reports/audit.xlsx': async () => ({ path: '/reports/audit.xlsx', options: {}, success: 200 }),
  'GET /reports/audit.jsonl': async () => ({ path: '/reports/audit.jsonl?from=2026-01-01', options: {}, success: 200 }),
  'GET /audit/digests': async () => ({ path: '/audit/digests', options: {}, success: 200 }),
  // An unknown digest: the matrix checks access (403 for the others), then the 404 of a well-formed miss.
  'GET /audit/digests/{id}': async () => ({
    path: '/audit/digests/2026-01-01T00-00-00-000Z',
    options: {},
    success: 404,
  }),
  'GET /reports/runs': async () => ({ path: '/reports/runs', options: {}, success: 200 }),
  // An unknown run: the matrix checks access (403 for the others), then the 404 of a well-formed miss.
  'GET /reports/runs/{id}': async () => ({ path: `/reports/runs/${DUMMY_ID}`, options: {}, success: 404 }),
  // A run's file exists only once a run finished: the matrix checks access, not the download itself.
  'GET /reports/runs/{id}/download': async () => ({
    path: `/reports/runs/${DUMMY_ID}/download`,
    options: {},
    success: undefined,
  }),
  'POST /reports/definitions': async () => ({
    path: '/reports/definitions',
    options: {
      method: 'POST',
      body: { name: `rbac-${randomBytes(3).toString('hex')}`, title: 'RBAC', kind: 'charges', format: 'csv' },
    },
    success: 201,
  }),
  'GET /reports/definitions': async () => ({ path: '/reports/definitions', options: {}, success: 200 }),
  'GET /reports/definitions/{id}': async () => ({
    path: `/reports/definitions/${await newDefinition()}`,
    options: {},
    success: 200,
  }),
  'PATCH /reports/definitions/{id}': async () => ({
    path: `/reports/definitions/${await newDefinition()}`,
    options: { method: 'PATCH', body: { title: 'RBAC changed' } },
    success: 200,
  }),
  'DELETE /reports/definitions/{id}': async () => ({
    path: `/reports/definitions/${await newDefinition()}`,
    options: { method: 'DELETE' },
    success: 204,
  }),
  // Run-now answers as soon as the run is started; its status code is the reports function's to choose (201/202).
  'POST /reports/definitions/{id}/run': async () => ({
    path: `/reports/definitions/${await newDefinition()}/run`,
    options: { method: 'POST' },
    success: undefined,
  }),
  'POST /auth/token': async () => {
    const { clientId, clientSecret } = await newServiceAccount();
    return {
      path: '/auth/token',
      options: {
        method: 'POST',
        // No bearer token: the client authenticates itself (HTTP Basic), as Prometheus does.
        token: '',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        },
        rawBody: 'grant_type=client_credentials',
      },
      success: 200,
    };
  },
  'POST /service-accounts': async () => ({
    path: '/service-accounts',
    options: { method: 'POST', body: { name: 'rbac', permissions: ['metrics:read'], reason: 'RBAC matrix test' } },
    success: 201,
  }),
  'GET /service-accounts': async () => ({ path: '/service-accounts', options: {}, success: 200 }),
  'POST /service-accounts/{id}/rotate-secret': async (_caller, permitted) => ({
    path: `/service-accounts/${permitted ? (await newServiceAccount()).serviceAccountId : DUMMY_SERVICE_ACCOUNT}/rotate-secret`,
    options: { method: 'POST', body: { reason: 'RBAC matrix test' } },
    success: 200,
  }),
  'DELETE /service-accounts/{id}': async (_caller, permitted) => ({
    path: `/service-accounts/${permitted ? (await newServiceAccount()).serviceAccountId : DUMMY_SERVICE_ACCOUNT}`,
    options: { method: 'DELETE', body: { reason: 'RBAC matrix test' } },
    success: 204,
  }),
  // The console's front door: a redirect, for everyone.
  'GET /': async () => ({ path: '/', options: {}, success: 302 }),
  'POST /users/me/mfa': async () => ({ path: '/users/me/mfa', options: { method: 'POST' }, success: 200 }),
  // Confirming and removing MFA need a current TOTP code (mfa.test.ts); here an empty body checks access only.
  'POST /users/me/mfa/confirm': async () => ({
    path: '/users/me/mfa/confirm',
    options: { method: 'POST', body: {} },
    success: undefined,
  }),
  'DELETE /users/me/mfa': async () => ({
    path: '/users/me/mfa',
    options: { method: 'DELETE', body: {} },
    success: undefined,
  }),
  // Accepted whatever the username, so it never tells who exists.
  'POST /auth/password-reset/request': async () => ({
    path: '/auth/password-reset/request',
    options: { method: 'POST', body: { username: `rbac-nobody-${randomBytes(3).toString('hex')}` } },
    success: 202,
  }),
  // No mailed link here: an unknown token is 422 on body.token.
  'POST /auth/password-reset': async () => ({
    path: '/auth/password-reset',
    options: { method: 'POST', body: { token: randomBytes(32).toString('base64url'), newPassword: strongPassword() } },
    success: 422,
  }),
  'GET /users/me/sessions': async () => ({ path: '/users/me/sessions', options: {}, success: 200 }),
  // An unknown session: 404, as another user's.
  'DELETE /users/me/sessions/{id}': async () => ({
    path: `/users/me/sessions/${DUMMY_ID}`,
    options: { method: 'DELETE' },
    success: 404,
  }),
  // The matrix runs without OIDC_PROVIDERS: no provider, no sign-in state, no ticket waiting.
  'GET /auth/sso/providers': async () => ({ path: '/auth/sso/providers', options: {}, success: 200 }),
  'GET /auth/sso/{provider}': async () => ({ path: '/auth/sso/rbac', options: {}, success: 404 }),
  'GET /auth/sso/callback': async () => ({ path: '/auth/sso/callback?code=x&state=y', options: {}, success: 400 }),
  'POST /auth/sso/ticket': async () => ({ path: '/auth/sso/ticket', options: { method: 'POST' }, success: 404 }),
  // A reset changes the password the other recipes sign in with: a fresh user when it should go through.
  'POST /users/{id}/password-reset': async (_caller, permitted) => ({
    path: `/users/${permitted ? (await createAccount(api, ['viewer'], 'rbac-reset')).userId : target.userId}/password-reset`,
    options: { method: 'POST', body: { reason: 'RBAC matrix test' } },
    success: 200,
  }),
  'GET /charges/{id}/versions/{n}': async () => ({
    path: `/charges/${(await newCharge()).id}/versions/1`,
    options: {},
    success: 200,
  }),
  // A review needs a signature (charges-review tests); here an empty body checks access only.
  'POST /charges/{id}/reviews': async () => ({
    path: `/charges/${DUMMY_ID}/reviews`,
    options: { method: 'POST', body: {} },
    success: undefined,
  }),
  'GET /analytics/charges': async () => ({
    path: '/analytics/charges?measure=count&groupBy=status&interval=week&from=P12W',
    options: {},
    success: 200,
  }),
  'GET /analytics/qa': async () => ({
    path: '/analytics/qa?measure=rejection_rate&groupBy=week&from=P26W',
    options: {},
    success: 200,
  }),
  'GET /dashboards': async () => ({ path: '/dashboards', options: {}, success: 200 }),
  // Dashboards have their own tests (analytics); here an empty body or an unknown id checks access only.
  'POST /dashboards': async () => ({ path: '/dashboards', options: { method: 'POST', body: {} }, success: undefined }),
  'GET /dashboards/{id}': async () => ({ path: `/dashboards/${DUMMY_ID}`, options: {}, success: 404 }),
  'PUT /dashboards/{id}': async () => ({
    path: `/dashboards/${DUMMY_ID}`,
    options: { method: 'PUT', body: {} },
    success: undefined,
  }),
  'DELETE /dashboards/{id}': async () => ({
    path: `/dashboards/${DUMMY_ID}`,
    options: { method: 'DELETE' },
    success: undefined,
  }),
} satisfies typeof RECIPES);

const DUMMY_SERVICE_ACCOUNT = 'sa-00000000-0000-4000-8000-000000000000';

/** A service account made by the admin, for the routes that use or consume one. */
async function newServiceAccount(): Promise<{ serviceAccountId: string; clientId: string; clientSecret: string }> {
  const res = await api.request('/service-accounts', {
    method: 'POST',
    token: admin,
    body: { name: 'rbac', permissions: ['metrics:read'], reason: 'RBAC matrix test' },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { serviceAccountId: string; clientId: string; clientSecret: string };
}

/** Routes added after this file was written still get the 401/403 checks, with a generic request. */
async function callFor(
  route: RouteDefinition,
  caller: Caller | undefined,
  permitted: boolean,
): Promise<Call & { exact: boolean }> {
  const recipe = RECIPES[`${route.method} ${route.path}`];
  if (recipe) {
    const call = await recipe(caller, permitted);
    return { ...call, exact: call.success !== undefined };
  }
  return {
    path: route.path.replace(/\{[^}]+\}/g, DUMMY_ID),
    options: { method: route.method, ...(route.jsonBody ? { body: {} } : {}) },
    success: undefined,
    exact: false,
  };
}

const keyOf = (r: RouteDefinition) => `${r.method} ${r.path}`;
const permissionsOf = (subject: Subject): readonly Permission[] =>
  subject === 'no-role' ? [] : ROLE_PERMISSIONS[subject];
const allows = (subject: Subject, route: RouteDefinition) =>
  route.access === 'public' || route.access === 'authenticated' || permissionsOf(subject).includes(route.access);

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  adminId = ((await api.request('/users/me', { token: admin })).json as { userId: string }).userId;
  target = await createAccount(api, ['viewer'], 'rbac-target');
  for (const subject of [...ROLES, 'no-role'] as Subject[]) {
    const account = await createAccount(api, subject === 'no-role' ? [] : [subject], `rbac-${subject}`);
    callers.set(subject, { subject, account, token: (await signIn(api, account)).accessToken });
  }
});
afterAll(() => api.stop());

describe('the role → permission table is the documented one', () => {
  it('matches it, permission by permission', () => {
    expect(ROLE_PERMISSIONS).toEqual({
      admin: PERMISSIONS,
      quality_manager: [
        'charges:read',
        'charges:write',
        'charges:release',
        'charges:review',
        'charges:delete',
        'audit:read',
        'reports:read',
        'reports:manage',
      ],
      operator: ['charges:read', 'charges:write'],
      auditor: ['charges:read', 'charges:review', 'audit:read', 'reports:read'],
      viewer: ['charges:read'],
    });
    expect([...PERMISSIONS].sort()).toEqual(
      [
        'audit:read',
        'charges:delete',
        'charges:read',
        'charges:release',
        'charges:review',
        'charges:write',
        'keys:rotate',
        'metrics:read',
        'reports:manage',
        'reports:read',
        'users:manage',
      ].sort(),
    );
  });

  it('every route of the route table has a request recipe here (so it gets an exact-status check)', () => {
    const missing = ROUTES.map(keyOf).filter((k) => !(k in RECIPES));
    // New routes still get the 401/403 matrix below; this only lists which lack the exact-status check.
    expect.soft(missing, 'routes without a recipe in rbac.test.ts').toEqual([]);
  });
});

describe.each([...ROLES, 'no-role'] as Subject[])('role %s', (subject) => {
  it.each(ROUTES.map((r) => [keyOf(r), r] as const))('%s', async (_key, route) => {
    const caller = callers.get(subject) as Caller;
    const permitted = allows(subject, route);
    const call = await callFor(route, caller, permitted);
    const res = await api.request(call.path, { ...call.options, token: call.options.token ?? caller.token });
    if (!permitted) {
      expectError(res, 403, 'FORBIDDEN');
      return;
    }
    expect([401, 403], `${route.method} ${call.path}: ${res.text}`).not.toContain(res.status);
    if (call.exact) expect(res.status, `${route.method} ${call.path}: ${res.text}`).toBe(call.success);
  });
});

describe('anonymous callers', () => {
  it.each(ROUTES.filter((r) => r.access !== 'public').map((r) => [keyOf(r), r] as const))(
    '%s → 401',
    async (_key, route) => {
      const call = await callFor(route, undefined, false);
      const res = await api.request(call.path, { ...call.options, token: undefined });
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    },
  );

  it.each(ROUTES.filter((r) => r.access === 'public').map((r) => [keyOf(r), r] as const))(
    'public %s → its success status',
    async (_key, route) => {
      const call = await callFor(route, undefined, true);
      const res = await api.request(call.path, call.options);
      expect(res.status, res.text).toBe(call.success);
    },
  );

  it('a wrong method on a protected path is 401 for anonymous callers (no probing) and 405 with a token', async () => {
    expectError(await api.request('/charges', { method: 'PUT' }), 401, 'UNAUTHORIZED');
    expectError(await api.request(`/users/${target.userId}`, { method: 'POST' }), 401, 'UNAUTHORIZED');
    const viewer = callers.get('viewer') as Caller;
    expectError(await api.request('/charges', { method: 'PUT', token: viewer.token }), 405, 'METHOD_NOT_ALLOWED');
  });

  it('a malformed Authorization header is 401, never a pass', async () => {
    const viewer = callers.get('viewer') as Caller;
    for (const value of [
      viewer.token,
      `Basic ${viewer.token}`,
      `Bearer`,
      `Bearer ${viewer.token} extra`,
      `Bearer  ${viewer.token}x`,
    ]) {
      const res = await api.request('/charges', { headers: { authorization: value } });
      expectError(res, 401, 'UNAUTHORIZED');
    }
  });
});
