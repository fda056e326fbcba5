import { randomBytes, randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { streamChanges } from '#audit/stream-changes';
import { attributionKey } from '#audit/adapters';
import { auditedCharges } from '#charges/audited';
import { auditedUsers } from '#users/audited';
import type { AuthenticatedUser } from '#platform/auth-context';
import { documentDb } from '#platform/dynamo';
import { permissionsFor, type Role } from '#platform/permissions';
import { tableName } from '#platform/tables';
import { ADMIN_COUNT_PK, readAdminCount } from '#users/admin-count';
import { ensureBootstrapAdmin } from '#users/bootstrap';
import { callHandler, type HandlerResponse, userWith } from '#test/support/events';
import { createTables, scanAll, streamReader } from '#test/support/streams';

const { toAuditInput } = streamChanges([auditedCharges, auditedUsers], attributionKey);

/**
 * "An admin cannot disable or demote themselves" is not enough: two admins demoting each other at the same moment
 * could leave a system with no admin. The users table counts the enabled local admins, in the same transaction as
 * every write that changes who is one, and taking away the last one is 409 CONFLICT.
 */

/** An admin who is no stored user (an SSO admin, say): counts for nothing, can act on everyone. */
const outsider = userWith(['admin'], 'outsider');

interface PublicUser {
  userId: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  version: number;
}

const callerFor = (user: PublicUser): AuthenticatedUser => ({
  userId: user.userId,
  username: user.username,
  roles: user.roles,
  permissions: permissionsFor(user.roles),
});

async function createUser(roles: Role[], by: AuthenticatedUser = outsider): Promise<PublicUser> {
  const res = await callHandler('users', {
    method: 'POST',
    resource: '/users',
    user: by,
    body: {
      username: `u-${randomBytes(4).toString('hex')}`,
      password: `pw-${randomBytes(12).toString('hex')}`,
      roles,
      reason: 'Test account',
    },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json as PublicUser;
}

const patch = (target: { userId: string }, body: unknown, by: AuthenticatedUser = outsider) =>
  callHandler('users', {
    method: 'PATCH',
    resource: '/users/{id}',
    pathParameters: { id: target.userId },
    user: by,
    body: { reason: 'Test change', ...(body as object) },
  });

const remove = (target: { userId: string }, by: AuthenticatedUser = outsider) =>
  callHandler('users', {
    method: 'DELETE',
    resource: '/users/{id}',
    pathParameters: { id: target.userId },
    user: by,
    body: { reason: 'Test removal' },
  });

const getUser = async (target: { userId: string }): Promise<PublicUser> => {
  const res = await callHandler('users', {
    resource: '/users/{id}',
    pathParameters: { id: target.userId },
    user: outsider,
  });
  expect(res.status).toBe(200);
  return res.json as PublicUser;
};

/** The enabled local admins as the stored users say, to compare with the count. */
async function enabledLocalAdmins(): Promise<string[]> {
  const items = await scanAll('users');
  return items
    .filter(
      (i) =>
        i.kind === 'user' && i.source === 'local' && i.disabled === false && (i.roles as string[]).includes('admin'),
    )
    .map((i) => String(i.userId));
}

function expectLastAdminConflict(res: HandlerResponse) {
  expect(res.status, JSON.stringify(res.json)).toBe(409);
  expect(res.json.error).toMatchObject({
    code: 'CONFLICT',
    message: expect.stringMatching(/no enabled local administrator/),
  });
}

beforeAll(createTables);

// Each test starts from an empty users table: no users, no count.
beforeEach(async () => {
  for (const item of await scanAll('users')) {
    await documentDb().send(new DeleteCommand({ TableName: tableName('users'), Key: { pk: item.pk } }));
  }
});

describe('the last enabled local admin', () => {
  it('the bootstrap admin is counted; demoting, disabling or deleting it is 409 and writes nothing', async () => {
    // Prepare
    const bootstrap = await ensureBootstrapAdmin('bootstrap-password-for-tests');
    expect(bootstrap.created).toBe(true);
    expect(await readAdminCount()).toBe(1);
    const admin = (await scanAll('users')).find((i) => i.kind === 'user') as unknown as PublicUser;

    // Act & Assess
    expectLastAdminConflict(await patch(admin, { roles: ['viewer'] }));
    expectLastAdminConflict(await patch(admin, { disabled: true }));
    expectLastAdminConflict(await patch(admin, { roles: ['quality_manager'], displayName: 'Not written either' }));
    expectLastAdminConflict(await remove(admin));
    expect(await getUser(admin)).toMatchObject({ roles: ['admin'], disabled: false, version: 1 });
    expect(await getUser(admin)).not.toHaveProperty('displayName');
    expect(await readAdminCount()).toBe(1);
    // Changes that keep them an admin still work.
    expect((await patch(admin, { roles: ['admin', 'auditor'], displayName: 'Root' })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);
  });

  it('adding then removing admins works, and the count follows every path that changes who is one', async () => {
    const a = await createUser(['admin']);
    expect(await readAdminCount()).toBe(1);
    const b = await createUser(['admin', 'auditor']);
    const viewer = await createUser(['viewer']);
    expect(await readAdminCount()).toBe(2);

    // A duplicate username is still 409 for its own reason, and counts nobody.
    const duplicate = await callHandler('users', {
      method: 'POST',
      resource: '/users',
      user: outsider,
      body: {
        username: a.username,
        password: `pw-${randomBytes(12).toString('hex')}`,
        roles: ['admin'],
        reason: 'Test account',
      },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error.message).toMatch(/already exists/);
    expect(await readAdminCount()).toBe(2);

    // Role change away from admin, then the other one is the last.
    expect((await patch(a, { roles: ['viewer'] })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);
    expectLastAdminConflict(await patch(b, { roles: ['auditor'] }));
    // Role change to admin.
    expect((await patch(viewer, { roles: ['viewer', 'admin'] })).status).toBe(200);
    expect(await readAdminCount()).toBe(2);
    // Disable and enable.
    expect((await patch(b, { disabled: true })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);
    expectLastAdminConflict(await remove(viewer));
    expect((await patch(b, { disabled: false })).status).toBe(200);
    expect(await readAdminCount()).toBe(2);
    // DELETE (disables).
    expect((await remove(viewer)).status).toBe(204);
    expect(await readAdminCount()).toBe(1);
    // A disabled user given admin is no admin yet; enabling them makes them one.
    expect((await patch(viewer, { roles: ['admin'] })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);
    expect((await patch(viewer, { disabled: false })).status).toBe(200);
    expect(await readAdminCount()).toBe(2);
    // Disable and demote in one PATCH is one admin less, not two.
    expect((await patch(viewer, { disabled: true, roles: ['viewer'] })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);

    expect(await enabledLocalAdmins()).toEqual([b.userId]);
  });

  it('the only two admins demoting (or disabling) each other at the same moment: exactly one succeeds', async () => {
    const moves: Array<(target: PublicUser, by: AuthenticatedUser) => Promise<HandlerResponse>> = [
      (target, by) => patch(target, { roles: ['viewer'] }, by),
      (target, by) => patch(target, { disabled: true }, by),
      (target, by) => remove(target, by),
    ];
    for (let round = 0; round < 6; round++) {
      // Prepare: a fresh table with exactly two enabled local admins.
      for (const item of await scanAll('users')) {
        await documentDb().send(new DeleteCommand({ TableName: tableName('users'), Key: { pk: item.pk } }));
      }
      const a = await createUser(['admin']);
      const b = await createUser(['admin']);
      expect(await readAdminCount()).toBe(2);
      const moveA = moves[round % moves.length]!;
      const moveB = moves[(round + 1) % moves.length]!;

      // Act: both passed the authorizer as admins; each acts on the other.
      const answers = await Promise.all([moveA(b, callerFor(a)), moveB(a, callerFor(b))]);

      // Assess
      const won = answers.filter((r) => r.status === 200 || r.status === 204);
      const refused = answers.filter((r) => r.status === 409);
      expect(won, JSON.stringify(answers.map((r) => r.json))).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expectLastAdminConflict(refused[0]!);
      const remaining = await enabledLocalAdmins();
      expect(remaining).toHaveLength(1);
      expect(await readAdminCount()).toBe(1);
    }
  });

  it('an SSO user or a disabled admin does not count', async () => {
    const admin = await createUser(['admin']);
    const disabledAdmin = await createUser(['admin']);
    expect((await patch(disabledAdmin, { disabled: true })).status).toBe(200);
    await putUserItem({ source: 'oidc:https://idp.example.com', roles: undefined });
    expectLastAdminConflict(await patch(admin, { roles: ['viewer'] }));
  });
});

/** A user item written as an older version of the code wrote it: no count was kept then. */
async function putUserItem(overrides: { source?: string; roles?: Role[]; disabled?: boolean }): Promise<string> {
  const userId = randomUUID();
  const now = new Date().toISOString();
  const { roles, ...rest } = { source: 'local', roles: ['admin'] as Role[] | undefined, disabled: false, ...overrides };
  await documentDb().send(
    new PutCommand({
      TableName: tableName('users'),
      Item: {
        pk: `user#${userId}`,
        kind: 'user',
        userId,
        username: `old-${userId.slice(0, 8)}`,
        ...(roles ? { roles } : {}),
        ...rest,
        tokensValidAfter: 0,
        version: 1,
        createdAt: now,
        createdBy: 'system',
        updatedAt: now,
        updatedBy: 'system',
      },
    }),
  );
  return userId;
}

describe('a table from before the count', () => {
  it('the first change of who is an admin counts them (a consistent scan), then guards as usual', async () => {
    // Prepare: two enabled local admins, a disabled one, an SSO user and a viewer; no count item.
    const first = await putUserItem({});
    const second = await putUserItem({});
    await putUserItem({ disabled: true });
    await putUserItem({ source: 'oidc:https://idp.example.com', roles: undefined });
    await putUserItem({ roles: ['viewer'] });
    expect(await readAdminCount()).toBeUndefined();

    // Act & Assess
    expect((await patch({ userId: first }, { roles: ['viewer'] })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);
    expectLastAdminConflict(await patch({ userId: second }, { disabled: true }));
  });

  it('two first changes at once both count from the same users, and the count ends right', async () => {
    const ids = [await putUserItem({}), await putUserItem({}), await putUserItem({})];
    const answers = await Promise.all(ids.slice(0, 2).map((userId) => patch({ userId }, { roles: ['auditor'] })));
    for (const res of answers) expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(await readAdminCount()).toBe(1);
    expect(await enabledLocalAdmins()).toEqual([ids[2]]);
  });

  it('a deleted count is counted again (the way to repair one edited by hand)', async () => {
    const a = await createUser(['admin']);
    await createUser(['admin']);
    await documentDb().send(new DeleteCommand({ TableName: tableName('users'), Key: { pk: ADMIN_COUNT_PK } }));
    expect((await patch(a, { roles: ['viewer'] })).status).toBe(200);
    expect(await readAdminCount()).toBe(1);
  });
});

describe('the count item', () => {
  it('reaches the users stream, and the audit trail passes it over (as it does the claim items)', async () => {
    const reader = streamReader(['users']);
    try {
      await createUser(['admin']);
      const records = (await reader.next()).Records.filter((r) => r.dynamodb?.Keys?.pk?.S === ADMIN_COUNT_PK);
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) expect(await toAuditInput(record)).toBeUndefined();
    } finally {
      await reader.stop();
    }
  });
});
