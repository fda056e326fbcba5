import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken } from '#test/support/auth';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { eventually } from '#test/support/eventually';

/**
 * A PATCH of a user that changes nothing writes no new version, so the users stream makes no audit record
 * (no `changes: {}`). A change is a change, as for charges: nothing written, 200 with the user as it is.
 */
let api: LocalApi;
let admin: string;
let auditor: TestUser;

type PublicUser = {
  userId: string;
  version: number;
  updatedAt: string;
  displayName?: string;
  email?: string;
  disabled: boolean;
  roles: string[];
};
type AuditRecord = { action: string; version: number | null; changes: Record<string, unknown> };

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  auditor = await userWithRoles(api, ['auditor']);
});
afterAll(() => api?.stop());

async function patch(path: string, token: string, body: unknown): Promise<PublicUser> {
  const res = await api.request(path, {
    method: 'PATCH',
    token,
    // An administrator's change to a user needs a reason; the caller's own profile (/users/me) takes none.
    body: path === '/users/me' ? body : { reason: 'Test change', ...(body as Record<string, unknown>) },
  });
  expect(res.status, res.text).toBe(200);
  return res.json as PublicUser;
}

async function getUser(userId: string): Promise<PublicUser> {
  const res = await api.request(`/users/${userId}`, { token: admin });
  expect(res.status, res.text).toBe(200);
  return res.json as PublicUser;
}

/** The user's audit records from the users stream, once one for `version` has arrived (the stream is ordered per item). */
const changeRecordsUpTo = (userId: string, version: number): Promise<AuditRecord[]> =>
  eventually(async () => {
    const res = await api.request(`/audit?entityType=user&entityId=${userId}&limit=100`, { token: auditor.token });
    expect(res.status, res.text).toBe(200);
    const records = (res.json as { items: AuditRecord[] }).items.filter((r) => typeof r.version === 'number');
    expect(
      records.map((r) => r.version),
      `audit record for version ${version} of user ${userId}`,
    ).toContain(version);
    return records;
  });

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

/**
 * Users have no If-Match, so an admin's PATCH must not fail with 409 CONFLICT when another admin changes the same
 * user between its read and its write (a lost disable would leave the user enabled).
 * Without a precondition the server reads again and re-applies; the decisions that depend on the stored user
 * (did the roles change, is this a disable?) are taken again against the version that is written.
 */
describe('concurrent admin changes to one user, without a precondition', () => {
  let otherAdmin: string;
  beforeAll(async () => {
    otherAdmin = (await userWithRoles(api, ['admin'])).token;
  });

  /** The process-wide revocation counter of `kind` (the local server's /metrics). */
  async function revocations(kind: string): Promise<number> {
    const res = await api.request('/metrics', { token: admin });
    expect(res.status, res.text).toBe(200);
    const match = new RegExp(`^charge_records_revocations_total\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)$`, 'm').exec(
      res.text,
    );
    return Number(match?.[1] ?? Number.NaN);
  }

  it.each(['PATCH', 'DELETE'] as const)(
    'four at once, disabling with %s: all succeed and every change lands',
    async (disableWith) => {
      for (let round = 0; round < 3; round++) {
        // Prepare
        const target = await userWithRoles(api, ['operator']);
        const path = `/users/${target.userId}`;
        const before = { disable: await revocations('disable'), roleChange: await revocations('role-change') };
        const displayName = `Name ${round}`;
        const email = `user-${round}-${target.userId.slice(0, 8)}@example.com`;

        // Act: two admins, four requests in flight together.
        const [roles, name, mail, disable] = await Promise.all([
          api.request(path, { method: 'PATCH', token: admin, body: { roles: ['auditor'], reason: 'Test change' } }),
          api.request(path, { method: 'PATCH', token: otherAdmin, body: { displayName, reason: 'Test change' } }),
          api.request(path, { method: 'PATCH', token: admin, body: { email, reason: 'Test change' } }),
          disableWith === 'PATCH'
            ? api.request(path, { method: 'PATCH', token: otherAdmin, body: { disabled: true, reason: 'Test change' } })
            : api.request(path, { method: 'DELETE', token: otherAdmin, body: { reason: 'Test removal' } }),
        ]);

        // Assess
        for (const res of [roles, name, mail]) expect(res?.status, res?.text).toBe(200);
        expect(disable?.status, disable?.text).toBe(disableWith === 'PATCH' ? 200 : 204);
        const after = await getUser(target.userId);
        expect(after).toMatchObject({ roles: ['auditor'], displayName, email, disabled: true, version: 5 });
        // The side effects of the disable and of the role change happened, once each.
        expect((await api.request('/users/me', { token: target.token })).status).toBe(401);
        expect(await revocations('disable')).toBe(before.disable + 1);
        expect(await revocations('role-change')).toBe(before.roleChange + 1);
        const records = await changeRecordsUpTo(target.userId, 5);
        expect(records.map((r) => r.version)).toEqual([1, 2, 3, 4, 5]);
        expect(records.map((r) => r.action).sort()).toEqual([
          'create',
          'role.change',
          'update',
          'update',
          'user.disable',
        ]);
      }
    },
  );

  it('the same role change twice at once: both 200, one new version, one revocation (decided on the written version)', async () => {
    for (let round = 0; round < 3; round++) {
      const target = await userWithRoles(api, ['operator']);
      const before = await revocations('role-change');
      const answers = await Promise.all(
        [admin, otherAdmin].map((token) =>
          api.request(`/users/${target.userId}`, {
            method: 'PATCH',
            token,
            body: { reason: 'Test change', roles: ['auditor'] },
          }),
        ),
      );
      for (const res of answers) expect(res.status, res.text).toBe(200);
      expect(await getUser(target.userId)).toMatchObject({ roles: ['auditor'], version: 2 });
      // The loser re-read a user that already had these roles: no change, so it ended no sessions and counted none.
      expect(await revocations('role-change')).toBe(before + 1);
    }
  });

  it('the self-protection rule still holds under the retry: an admin cannot disable themselves', async () => {
    const me = await userWithRoles(api, ['admin']);
    const [self, other] = await Promise.all([
      api.request(`/users/${me.userId}`, {
        method: 'PATCH',
        token: me.token,
        body: { reason: 'Test change', disabled: true },
      }),
      api.request(`/users/${me.userId}`, {
        method: 'PATCH',
        token: admin,
        body: { reason: 'Test change', displayName: 'Still here' },
      }),
    ]);
    expect(self.status, self.text).toBe(409);
    expect(other.status, other.text).toBe(200);
    expect(await getUser(me.userId)).toMatchObject({ disabled: false, displayName: 'Still here', roles: ['admin'] });
  });
});
