import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dashboard } from '#analytics/model';
import { QA_OVERVIEW_ID } from '#analytics/dashboards';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { stubEnvForAll } from '#test/support/env';
import { eventually } from '#test/support/eventually';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { type TestUser, userWithRoles } from '#test/support/users';

stubEnvForAll({ RATE_LIMIT_PER_MINUTE: '10000' });

let api: LocalApi;
let viewer: TestUser;
let other: TestUser;
let manager: TestUser;

beforeAll(async () => {
  api = await startLocalApi();
  [viewer, other, manager] = await Promise.all([
    userWithRoles(api, ['viewer']),
    userWithRoles(api, ['operator']),
    userWithRoles(api, ['quality_manager']),
  ]);
});
afterAll(() => api?.stop());

const widget = (overrides: Record<string, unknown> = {}) => ({
  id: 'w1',
  title: 'By status',
  type: 'stacked_bar',
  query: { endpoint: 'charges', params: { groupBy: 'status', interval: 'week', from: 'P12W' } },
  layout: { x: 0, y: 0, w: 12, h: 6 },
  ...overrides,
});
const create = (user: TestUser, body: Record<string, unknown>) =>
  api.request('/dashboards', { method: 'POST', token: user.token, body });
const put = (user: TestUser, id: string, body: Record<string, unknown>, etag?: string) =>
  api.request(`/dashboards/${id}`, {
    method: 'PUT',
    token: user.token,
    body,
    headers: etag === undefined ? {} : { 'If-Match': etag },
  });
const del = (user: TestUser, id: string, etag?: string) =>
  api.request(`/dashboards/${id}`, {
    method: 'DELETE',
    token: user.token,
    headers: etag === undefined ? {} : { 'If-Match': etag },
  });
const list = async (user: TestUser) => {
  const res = await api.request('/dashboards', { token: user.token });
  expect(res.status, res.text).toBe(200);
  return (res.json as { items: Dashboard[] }).items;
};

describe('dashboards', () => {
  it('every reader sees the shared "QA overview" seeded at the first start, whose widgets all answer', async () => {
    const items = await list(viewer);
    const overview = items.find((d) => d.id === QA_OVERVIEW_ID);
    expect(overview).toMatchObject({ title: 'QA overview', shared: true, owner: { userId: 'system' } });
    expect(overview?.widgets.map((w) => w.type)).toEqual(
      expect.arrayContaining(['kpi', 'line', 'bar', 'stacked_bar', 'pie', 'table']),
    );
    for (const w of overview?.widgets ?? []) {
      const query = new URLSearchParams(w.query.params as Record<string, string>).toString();
      const res = await api.request(`/analytics/${w.query.endpoint}?${query}`, { token: viewer.token });
      expect(res.status, `${w.id}: ${res.text}`).toBe(200);
    }
  });

  it('an own dashboard: created with ETag and Location, read back, invisible (404) to anyone else', async () => {
    const res = await create(viewer, { title: 'Mine', widgets: [widget()] });
    expect(res.status, res.text).toBe(201);
    const d = res.json as Dashboard;
    expect(d).toMatchObject({ title: 'Mine', shared: false, version: 1, owner: { userId: viewer.userId } });
    expect(res.headers.etag).toBe('"1"');
    expect(res.headers.location).toBe(`/dashboards/${d.id}`);
    const read = await api.request(`/dashboards/${d.id}`, { token: viewer.token });
    expect(read.json).toEqual(d);
    expectError(await api.request(`/dashboards/${d.id}`, { token: other.token }), 404, 'NOT_FOUND');
    expectError(await put(other, d.id, { title: 'Taken' }, '"1"'), 404, 'NOT_FOUND');
    expectError(await del(other, d.id, '"1"'), 404, 'NOT_FOUND');
    expectError(await del(manager, d.id, '"1"'), 404, 'NOT_FOUND');
    expect((await list(other)).some((x) => x.id === d.id)).toBe(false);
  });

  it('PUT and DELETE need If-Match: missing 428, stale 412; the owner changes and deletes their own', async () => {
    const d = (await create(viewer, { title: 'Draft' })).json as Dashboard;
    expectError(await put(viewer, d.id, { title: 'No tag' }), 428, 'PRECONDITION_REQUIRED');
    expectError(await put(viewer, d.id, { title: 'Stale' }, '"7"'), 412, 'PRECONDITION_FAILED');
    const changed = await put(viewer, d.id, { title: 'Final', widgets: [widget({ type: 'line' })] }, '"1"');
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({ title: 'Final', version: 2, widgets: [{ type: 'line' }] });
    expect(changed.headers.etag).toBe('"2"');
    expectError(await del(viewer, d.id), 428, 'PRECONDITION_REQUIRED');
    expectError(await del(viewer, d.id, '"1"'), 412, 'PRECONDITION_FAILED');
    expect((await del(viewer, d.id, '"2"')).status).toBe(204);
    expectError(await api.request(`/dashboards/${d.id}`, { token: viewer.token }), 404, 'NOT_FOUND');
  });

  it('shared dashboards: only reports:manage creates, changes, shares, unshares and deletes them', async () => {
    expectError(await create(viewer, { title: 'For all', shared: true }), 403, 'FORBIDDEN');
    const own = (await create(viewer, { title: 'Own' })).json as Dashboard;
    expectError(await put(viewer, own.id, { title: 'Own', shared: true }, '"1"'), 403, 'FORBIDDEN');

    const res = await create(manager, { title: 'Line 3', shared: true, widgets: [widget()] });
    expect(res.status, res.text).toBe(201);
    const shared = res.json as Dashboard;
    expect((await list(viewer)).map((d) => d.id)).toContain(shared.id);
    expect((await api.request(`/dashboards/${shared.id}`, { token: other.token })).status).toBe(200);
    expectError(await put(viewer, shared.id, { title: 'Hijacked', shared: true }, '"1"'), 403, 'FORBIDDEN');
    expectError(await del(other, shared.id, '"1"'), 403, 'FORBIDDEN');

    // Another manager may change it (it is everyone's), and unshare it: then it is the owner's own again.
    const admin = { token: await adminToken(api) } as TestUser;
    const renamed = await put(admin, shared.id, { title: 'Line 3 (all shifts)', shared: true, widgets: [] }, '"1"');
    expect(renamed.status, renamed.text).toBe(200);
    const unshared = await put(manager, shared.id, { title: 'Line 3', shared: false }, '"2"');
    expect(unshared.status, unshared.text).toBe(200);
    expectError(await api.request(`/dashboards/${shared.id}`, { token: viewer.token }), 404, 'NOT_FOUND');
    expect((await del(manager, shared.id, '"3"')).status).toBe(204);
  });

  it('every change is on the audit trail as entityType "dashboard", once each', async () => {
    const d = (await create(viewer, { title: 'Audited' })).json as Dashboard;
    await put(viewer, d.id, { title: 'Audited twice' }, '"1"');
    await del(viewer, d.id, '"2"');
    const token = await adminToken(api);
    // Written from the analytics table's stream by the audit function, a moment later.
    const items = await eventually(async () => {
      const res = await api.request(`/audit?entityType=dashboard&entityId=${d.id}&limit=100`, { token });
      expect(res.status, res.text).toBe(200);
      const found = (res.json as { items: Array<{ action: string; actor: { userId: string }; changes: object }> })
        .items;
      expect(found.map((i) => i.action).sort()).toEqual(['create', 'delete', 'update']);
      return found;
    });
    expect(items.every((i) => i.actor.userId === viewer.userId)).toBe(true);
    expect(items.find((i) => i.action === 'update')?.changes).toMatchObject({
      title: { from: 'Audited', to: 'Audited twice' },
    });
  });

  it.each([
    [
      'a query the route refuses (quantity of mixed units)',
      { query: { endpoint: 'charges', params: { measure: 'quantity' } } },
      'body.widgets.0.query.params.measure',
    ],
    [
      'a range over 400 days',
      { query: { endpoint: 'qa', params: { from: '2020-01-01', to: '2026-01-01' } } },
      'body.widgets.0.query.params.from',
    ],
    [
      'a parameter of the other endpoint',
      { query: { endpoint: 'qa', params: { groupBy: 'status' } } },
      'body.widgets.0.query.params.groupBy',
    ],
    ['an unknown chart type', { type: 'radar' }, 'body.widgets.0.type'],
    ['a widget beyond the 24-column grid', { layout: { x: 20, y: 0, w: 6, h: 4 } }, 'body.widgets.0.layout.w'],
    ['an unknown endpoint', { query: { endpoint: 'users', params: {} } }, 'body.widgets.0.query.endpoint'],
  ])('422 for %s, nothing stored', async (_, override, path) => {
    const before = (await list(viewer)).length;
    const error = expectError(
      await create(viewer, { title: 'Bad', widgets: [widget(override)] }),
      422,
      'VALIDATION_ERROR',
    );
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    expect((await list(viewer)).length).toBe(before);
  });

  it('422 for two widgets with one id; 400 for an unknown field', async () => {
    expectError(await create(viewer, { title: 'Twins', widgets: [widget(), widget()] }), 422, 'VALIDATION_ERROR');
    expectError(await create(viewer, { title: 'Owner', owner: { userId: 'x' } }), 400, 'BAD_REQUEST');
  });

  it('at most 20 own dashboards: the 21st is 409 CONFLICT', async () => {
    const user = await userWithRoles(api, ['viewer']);
    for (let i = 0; i < 20; i++) expect((await create(user, { title: `D${i}` })).status).toBe(201);
    expectError(await create(user, { title: 'One too many' }), 409, 'CONFLICT');
  });
});
