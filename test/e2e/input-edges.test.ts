import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

/**
 * Input that parses, but means two things: a JSON key given twice (JSON.parse keeps the last copy), and identifiers
 * holding invisible format characters (`ART-1` and `ART-\u200B1` look the same).
 */
let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api?.stop());

const charge = '"quantity":1,"unit":"kg","productionDate":"2026-01-01"';

describe('a JSON key given twice is 400 BAD_REQUEST naming it', () => {
  const cases: Array<[string, string, string, string]> = [
    ['top level', '/charges', `{"articleId":"A-1",${charge},"articleId":"A-2"}`, 'articleId'],
    ['the same key escaped', '/charges', `{"articleId":"A-1",${charge},"\\u0061rticleId":"A-2"}`, 'articleId'],
    [
      'a status smuggled past the first copy',
      '/charges',
      `{"articleId":"A-1",${charge},"status":"released","status":"in_production"}`,
      'status',
    ],
    [
      'nested',
      '/reports/definitions',
      '{"name":"n","title":"t","kind":"charges","format":"csv","filters":{"status":"released","status":"blocked"}}',
      'filters.status',
    ],
    ['a login', '/auth/login', '{"username":"admin","password":"x","username":"other"}', 'username'],
  ];
  it.each(cases)('%s', async (_name, path, rawBody, key) => {
    const res = await api.request(path, {
      method: 'POST',
      token: path === '/auth/login' ? undefined : admin,
      headers: { 'content-type': 'application/json' },
      rawBody,
    });
    const error = expectError(res, 400, 'BAD_REQUEST');
    expect(error.message).toContain(`"${key}"`);
    expect(error.details).toEqual([expect.objectContaining({ path: `body.${key}`, code: 'duplicate_key' })]);
  });

  it('the same key in two different objects is fine', async () => {
    const res = await api.request('/reports/definitions', {
      method: 'POST',
      token: admin,
      headers: { 'content-type': 'application/json' },
      rawBody: '{"name":"dup-ok","title":"status","kind":"charges","format":"csv","filters":{"status":"released"}}',
    });
    expect(res.status, res.text).toBe(201);
  });
});

describe('identifiers refuse Unicode format characters (Cf): 422', () => {
  const hidden: Array<[string, string]> = [
    ['zero-width space', 'ART\u200B1'],
    ['zero-width joiner', 'ART\u200D1'],
    ['word joiner', 'ART\u20601'],
    ['BOM', '\uFEFFART1'],
    ['right-to-left override', '\u202EART1'],
    ['left-to-right mark', 'ART1\u200E'],
    ['first-strong isolate', 'ART\u20681'],
    ['soft hyphen', 'ART\u00AD1'],
  ];

  it.each(hidden)('articleId with a %s, on create', async (_name, articleId) => {
    const res = await api.request('/charges', {
      method: 'POST',
      token: admin,
      body: { articleId, quantity: 1, unit: 'kg', productionDate: '2026-01-01' },
    });
    const details = expectError(res, 422, 'VALIDATION_ERROR').details as Array<{ path: string }>;
    // A BOM in front is also surrounding whitespace: one issue or two, all about articleId.
    expect(details.map((d) => d.path)).toContain('body.articleId');
    expect(new Set(details.map((d) => d.path))).toEqual(new Set(['body.articleId']));
  });

  it.each(hidden)('articleId with a %s, as a filter of the list, an export and a report definition', async (_n, id) => {
    expectError(
      await api.request(`/charges?articleId=${encodeURIComponent(id)}`, { token: admin }),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await api.request(`/reports/charges.csv?articleId=${encodeURIComponent(id)}`, { token: admin }),
      422,
      'VALIDATION_ERROR',
    );
    const res = await api.request('/reports/definitions', {
      method: 'POST',
      token: admin,
      body: { name: 'cf', title: 't', kind: 'charges', format: 'csv', filters: { articleId: id } },
    });
    const details = expectError(res, 422, 'VALIDATION_ERROR').details as Array<{ path: string }>;
    expect(new Set(details.map((d) => d.path))).toEqual(new Set(['body.filters.articleId']));
  });

  it('a report definition name is an identifier too; its title is text and may hold them, but no bidi control', async () => {
    const name = await api.request('/reports/definitions', {
      method: 'POST',
      token: admin,
      body: { name: 'weekly\u200B', title: 't', kind: 'charges', format: 'csv' },
    });
    expectError(name, 422, 'VALIDATION_ERROR');
    const title = await api.request('/reports/definitions', {
      method: 'POST',
      token: admin,
      body: { name: 'weekly-zw', title: 'Wochen\u200Bbericht', kind: 'charges', format: 'csv' },
    });
    expect(title.status, title.text).toBe(201);
    // A bidi control reorders what the reader of a file name or heading sees (`…\u202Eslx.exe` shows as `…exe.xls`).
    const bidi = await api.request('/reports/definitions', {
      method: 'POST',
      token: admin,
      body: { name: 'weekly-rtl', title: 'تقرير\u200F أسبوعي', kind: 'charges', format: 'csv' },
    });
    const details = expectError(bidi, 422, 'VALIDATION_ERROR').details as Array<{ path: string }>;
    expect(details.map((d) => d.path)).toEqual(['body.title']);
  });

  it('an articleId without them still works', async () => {
    const res = await api.request('/charges', {
      method: 'POST',
      token: admin,
      body: { articleId: 'ART-Łódź-1', quantity: 1, unit: 'kg', productionDate: '2026-01-01' },
    });
    expect(res.status, res.text).toBe(201);
  });
});
