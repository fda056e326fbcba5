import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { seedCharge } from '#test/support/charges';

/**
 * Unknown query parameters are 400 on every route: `GET /users` included (its schema is strict) and routes without
 * a query schema (they take no parameters at all).
 */
let api: LocalApi;
let admin: string;
let qm: TestUser;
let chargeId: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  qm = await userWithRoles(api, ['quality_manager']);
  ({ chargeId } = await seedCharge(api, qm.token, { articleId: 'QUERY-1' }));
});
afterAll(() => api?.stop());

describe('unknown query parameters are 400 BAD_REQUEST naming them', () => {
  const cases: Array<[string, () => { path: string; token?: string; method?: string; body?: unknown }]> = [
    ['GET /users (strict schema)', () => ({ path: '/users?foo=1', token: admin })],
    ['GET /users/{id} (no schema)', () => ({ path: `/users/${qm.userId}?foo=1`, token: admin })],
    ['GET /users/me (no schema)', () => ({ path: '/users/me?x=1', token: qm.token })],
    ['GET /charges/{id} (no schema)', () => ({ path: `/charges/${chargeId}?foo=1`, token: qm.token })],
    ['GET /charges/{id}/history (no schema)', () => ({ path: `/charges/${chargeId}/history?foo=1`, token: qm.token })],
    ['GET /status/health (public, no schema)', () => ({ path: '/status/health?foo=1' })],
    [
      'POST /auth/login (public, body but no query schema)',
      () => ({ path: '/auth/login?foo=1', method: 'POST', body: { username: 'x', password: 'y' } }),
    ],
  ];

  it.each(cases)('%s', async (_name, request) => {
    const { path, ...options } = request();
    const error = expectError(await api.request(path, options), 400, 'BAD_REQUEST');
    expect(error.message).toMatch(/query parameters/);
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'query', code: 'unrecognized_keys', keys: [expect.stringMatching(/^(foo|x)$/)] }),
    ]);
  });
});

describe('routes that take query parameters still take them', () => {
  it('GET /users?limit=1', async () => {
    expect((await api.request('/users?limit=1', { token: admin })).status).toBe(200);
  });

  it('GET /charges/{id}/report.pdf?lang=en', async () => {
    const res = await api.request(`/charges/${chargeId}/report.pdf?lang=en`, { token: qm.token });
    expect(res.status, res.text.slice(0, 200)).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
  });

  it('GET /reports/charges.csv?articleId=&lang=de', async () => {
    const res = await api.request('/reports/charges.csv?articleId=QUERY-1&lang=de', { token: qm.token });
    expect(res.status, res.text.slice(0, 200)).toBe(200);
  });

  it('an empty unknown parameter filters nothing and is ignored, as an empty known one is', async () => {
    expect((await api.request(`/charges/${chargeId}?foo=`, { token: qm.token })).status).toBe(200);
  });
});

describe('a parameter given more than once is 400 naming it', () => {
  // API Gateway's queryStringParameters keeps the last copy: `status=quarantine&status=` would drop the filter.
  it.each([
    ['/charges?articleId=QUERY-1&status=quarantine&status=in_production', 'status'],
    ['/charges?articleId=QUERY-1&status=quarantine&status=', 'status'],
    ['/charges?articleId=QUERY-1&limit=2&limit=3', 'limit'],
    ['/audit?entityType=charge&entityType=user', 'entityType'],
    ['/status/health?foo=1&foo=2', 'foo'],
  ])('%s', async (path, name) => {
    const error = expectError(await api.request(path, { token: admin }), 400, 'BAD_REQUEST');
    expect(error.message).toMatch(/more than once/);
    expect(error.details).toEqual([expect.objectContaining({ path: `query.${name}`, code: 'repeated' })]);
  });
});

describe('limit is plain decimal digits on every list', () => {
  const lists = ['/charges', '/audit', '/reports/runs', '/reports/definitions', '/users'];
  const bad = ['1e2', '0x10', '+3', ' 5', '5 ', '1.0', '-1', '0', '101'];

  it.each(lists)('%s', async (list) => {
    for (const limit of bad) {
      const res = await api.request(`${list}?limit=${encodeURIComponent(limit)}`, { token: admin });
      const error = expectError(res, 422, 'VALIDATION_ERROR');
      expect(error.details, limit).toEqual([expect.objectContaining({ path: 'query.limit' })]);
    }
    for (const limit of ['1', '007', '100'])
      expect((await api.request(`${list}?limit=${limit}`, { token: admin })).status, limit).toBe(200);
  });
});

describe('from after to is 422 on every route that takes both', () => {
  it.each([
    '/charges?from=2026-12-01&to=2026-01-01',
    '/audit?from=2026-12-01&to=2026-01-01',
    '/audit?from=2026-01-02&to=2026-01-01T23:59:59Z',
    '/audit?from=2026-01-01T12:00:00%2B02:00&to=2026-01-01T09:59:59Z',
    '/reports/charges.csv?from=2026-12-01&to=2026-01-01',
    '/reports/charges.xlsx?from=2026-12-01&to=2026-01-01',
    '/reports/audit.csv?from=2026-12-01&to=2026-01-01',
    '/reports/audit.xlsx?from=2026-12-01T00:00:00Z&to=2026-01-01',
  ])('%s', async (path) => {
    const error = expectError(await api.request(path, { token: admin }), 422, 'VALIDATION_ERROR');
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'query.from', message: 'from must not be after to' }),
    ]);
  });

  it.each([
    '/audit?from=2026-01-01&to=2026-01-01',
    '/audit?from=2026-01-01T10:00:00Z&to=2026-01-01',
    '/audit?from=2026-01-01&to=2026-01-01T00:00:00Z',
    '/reports/audit.csv?from=2026-01-01&to=2026-01-01',
    '/charges?from=2026-01-01&to=2026-01-01',
  ])('%s (one day, or an instant inside it) is a range', async (path) => {
    const res = await api.request(path, { token: admin });
    expect(res.status, res.text.slice(0, 200)).toBe(200);
  });
});
