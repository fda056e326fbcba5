import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/assertions';
import { adminToken, userWithRoles, type TestUser } from '../support/auth';
import { type LocalApi, startLocalApi } from '../support/local-api';

/**
 * Audit finding 11: unknown query parameters are 400 on every route (README), but `GET /users` ignored
 * them (a non-strict schema) and routes without a query schema never looked at the query.
 */
let api: LocalApi;
let admin: string;
let qm: TestUser;
let chargeId: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  qm = await userWithRoles(api, ['quality_manager']);
  const created = await api.request('/charges', {
    method: 'POST',
    token: qm.token,
    body: { articleId: 'QUERY-1', quantity: 2, unit: 'pcs', productionDate: '2026-04-01' },
  });
  expect(created.status, created.text).toBe(201);
  chargeId = (created.json as { chargeId: string }).chargeId;
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
    ['POST /auth/login (public, body but no query schema)', () => ({ path: '/auth/login?foo=1', method: 'POST', body: { username: 'x', password: 'y' } })],
  ];

  it.each(cases)('%s', async (_name, request) => {
    const { path, ...options } = request();
    const error = expectError(await api.request(path, options), 400, 'BAD_REQUEST');
    expect(error.message).toMatch(/query parameters/);
    expect(error.details).toEqual([expect.objectContaining({ path: 'query', code: 'unrecognized_keys', keys: [expect.stringMatching(/^(foo|x)$/)] })]);
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
