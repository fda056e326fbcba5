import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, userWithRoles, type TestUser } from '../support/auth';
import { type LocalApi, startLocalApi } from '../support/local-api';

/**
 * Audit finding 16: a PATCH of a user that changed nothing still wrote a new version, and the users
 * stream turned it into an audit record with `changes: {}`. A change is a change (SPEC §3, §6), as for
 * charges: nothing written, 200 with the user as it is.
 */
let api: LocalApi;
let admin: string;
let auditor: TestUser;

type PublicUser = { userId: string; version: number; updatedAt: string; displayName?: string; roles: string[] };
type AuditRecord = { action: string; version: number | null; changes: Record<string, unknown> };

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  auditor = await userWithRoles(api, ['auditor']);
});
afterAll(() => api?.stop());

async function patch(path: string, token: string, body: unknown): Promise<PublicUser> {
  const res = await api.request(path, { method: 'PATCH', token, body });
  expect(res.status, res.text).toBe(200);
  return res.json as PublicUser;
}

async function getUser(userId: string): Promise<PublicUser> {
  const res = await api.request(`/users/${userId}`, { token: admin });
  expect(res.status, res.text).toBe(200);
  return res.json as PublicUser;
}

/** The user's audit records from the users stream, once one for `version` has arrived (the stream is ordered per item). */
async function changeRecordsUpTo(userId: string, version: number): Promise<AuditRecord[]> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const res = await api.request(`/audit?entityType=user&entityId=${userId}&limit=100`, { token: auditor.token });
    expect(res.status, res.text).toBe(200);
    const records = (res.json as { items: AuditRecord[] }).items.filter((r) => typeof r.version === 'number');
    if (records.some((r) => r.version === version)) return records;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no audit record for version ${version} of user ${userId}`);
}

describe('a PATCH that changes nothing writes nothing', () => {
  it('PATCH /users/me with the values it has: 200, same version, no audit record', async () => {
    const user = await userWithRoles(api, ['viewer']);
    const changed = await patch('/users/me', user.token, { displayName: 'Audrey', email: 'audrey@example.com' });
    expect(changed.version).toBe(2);

    const again = await patch('/users/me', user.token, { displayName: 'Audrey' });
    expect(again).toEqual(changed);
    const both = await patch('/users/me', user.token, { email: 'audrey@example.com', displayName: 'Audrey' });
    expect(both).toEqual(changed);
    expect((await getUser(user.userId)).version).toBe(2);

    // A real change after the no-ops gets the next version; the trail has one record per real change.
    const real = await patch('/users/me', user.token, { displayName: 'Audrey H.' });
    expect(real.version).toBe(3);
    const records = await changeRecordsUpTo(user.userId, 3);
    expect(records.map((r) => r.version)).toEqual([1, 2, 3]);
    for (const record of records) expect(Object.keys(record.changes).length, JSON.stringify(record)).toBeGreaterThan(0);
  });

  it('PATCH /users/{id} with the same roles (in another order) and state: 200, same version, no audit record', async () => {
    const user = await userWithRoles(api, ['operator', 'auditor']);
    const before = await getUser(user.userId);
    expect(before.version).toBe(1);

    const same = await patch(`/users/${user.userId}`, admin, { roles: ['auditor', 'operator'], disabled: false });
    expect(same).toEqual(before);
    // Nor did it end the user's sessions, as a real role change would.
    expect((await api.request('/users/me', { token: user.token })).status).toBe(200);

    const real = await patch(`/users/${user.userId}`, admin, { roles: ['operator'] });
    expect(real.version).toBe(2);
    const records = await changeRecordsUpTo(user.userId, 2);
    expect(records.map((r) => [r.version, r.action])).toEqual([
      [1, 'create'],
      [2, 'role.change'],
    ]);
  });
});
