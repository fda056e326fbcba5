import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_DOCUMENT } from '#platform/openapi/document';
import { REFERENCE_PAGE_CSP } from '#platform/openapi/reference-page';
import { apiClient } from '#scripts/api-client';
import { ADMIN_PASSWORD } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(() => api?.stop());

describe('the API describes itself', () => {
  it('GET /openapi.json is the generated document, without a token, with this deployment as its server', async () => {
    const res = await api.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const { servers, ...rest } = res.json as typeof OPENAPI_DOCUMENT;
    expect(servers).toEqual([{ url: api.url, description: 'This deployment' }]);
    const { servers: _generated, ...expected } = OPENAPI_DOCUMENT;
    expect(rest).toEqual(expected);
  });

  it('GET /docs is an HTML reference page whose CSP allows its stylesheet and nothing else', async () => {
    const res = await api.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(REFERENCE_PAGE_CSP);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.text).toContain('<title>Charge Records API — reference</title>');
    expect(res.text).toContain('href="openapi.json"');
    expect(res.text).not.toContain('<script');
  });
});

describe('the typed client (openapi-fetch over the generated types)', () => {
  it('signs in, creates a charge and reads it back', async () => {
    const login = await apiClient(api.url).POST('/auth/login', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(login.response.status).toBe(200);
    const client = apiClient(api.url, login.data!.accessToken);

    const created = await client.POST('/charges', {
      body: { articleId: 'ART-CLIENT', quantity: 12.5, unit: 'kg', productionDate: '2026-05-02' },
    });
    expect(created.response.status).toBe(201);
    const chargeId = created.data!.chargeId;

    const read = await client.GET('/charges/{id}', { params: { path: { id: chargeId } } });
    expect(read.data).toMatchObject({ chargeId, articleId: 'ART-CLIENT', status: 'in_production', version: 1 });
    expect(read.response.headers.get('etag')).toBe('"1"');

    const refused = await client.PATCH('/charges/{id}', {
      params: { path: { id: chargeId }, header: { 'If-Match': '"7"' } },
      body: { notes: 'stale', reason: 'A stale version' },
    });
    expect(refused.response.status).toBe(412);
    expect(refused.error?.error.code).toBe('PRECONDITION_FAILED');
  });
});
