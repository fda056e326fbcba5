import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { metrics } from '#platform/powertools';
import { ADMIN_PASSWORD, adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { decodeJwt, freshIp, refreshWith, signIn } from '#test/support/security';
import { type Account, createAccount } from '#test/support/users';
import { eventually } from '#test/support/eventually';
import { scanAll } from '#test/support/streams';
import { stubEnvForAll } from '#test/support/env';

/**
 * Every security event leaves one audit record in the audit record format (read straight from the audit
 * table in DynamoDB Local), and no audit record — security event or users-stream change — holds a
 * password, a password hash or a token. Every secret this file uses is collected and searched for.
 */

const MAX_FAILURES = 3;
stubEnvForAll({
  LOGIN_MAX_FAILURES: String(MAX_FAILURES),
  LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
  RATE_LIMIT_PER_MINUTE: '10000',
});

let api: LocalApi;
let admin: string;
let adminId: string;
/** Every password, access token and refresh token this file has used. */
const secrets = new Set<string>([ADMIN_PASSWORD]);

type AuditItem = Record<string, unknown> & { entityKey: string; seq: number; action: string };

async function recordsOf(entityType: string, entityId: string): Promise<AuditItem[]> {
  const items = (await scanAll('audit')) as AuditItem[];
  return items.filter((i) => i.entityKey === `${entityType}#${entityId}`).sort((a, b) => a.seq - b.seq);
}
const withAction = async (userId: string, action: string) =>
  (await recordsOf('user', userId)).filter((r) => r.action === action);
const streamed = (userId: string, action: string) =>
  eventually(async () => {
    const records = await withAction(userId, action);
    expect(records.length).toBeGreaterThan(0);
    return records;
  });

async function account(roles: Parameters<typeof createAccount>[1] = ['viewer']): Promise<Account> {
  const a = await createAccount(api, roles, 'audit');
  secrets.add(a.password);
  return a;
}
async function session(a: Account) {
  const t = await signIn(api, a);
  secrets.add(t.accessToken);
  secrets.add(t.refreshToken);
  return t;
}
const attempt = (username: string, password: string, ip: string) => {
  secrets.add(password);
  return api.request('/auth/login', { method: 'POST', body: { username, password }, localAddress: ip });
};

/** The audit record format. */
function expectRecordShape(record: AuditItem, action: string, subject: { userId: string }, actor: { userId: string }) {
  expect(record).toMatchObject({
    auditId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    entityType: 'user',
    entityId: subject.userId,
    action,
    actor: { userId: actor.userId, username: expect.any(String) },
    requestId: expect.any(String),
    prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    hash: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  expect(new Date(record.at as string).toISOString()).toBe(record.at);
}

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
  secrets.add(admin);
  adminId = ((await api.request('/users/me', { token: admin })).json as { userId: string }).userId;
});
afterAll(() => api.stop());

describe('security events on the audit trail', () => {
  it('login success: one record, with the source IP', async () => {
    const a = await account();
    const ip = freshIp();
    const res = await attempt(a.username, a.password, ip);
    expect(res.status).toBe(200);
    const body = res.json as { accessToken: string; refreshToken: string };
    secrets.add(body.accessToken).add(body.refreshToken);
    const records = await withAction(a.userId, 'login.success');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'login.success', a, a);
    expect((records[0] as AuditItem).changes).toMatchObject({ sourceIp: { from: null, to: ip } });
  });

  it('login failure: one record per failed attempt, for known and unknown usernames alike', async () => {
    const a = await account();
    expect((await attempt(a.username, 'wrong-password-number-1', freshIp())).status).toBe(401);
    const records = await withAction(a.userId, 'login.failure');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'login.failure', a, a);

    const ghost = `ghost-${randomBytes(4).toString('hex')}`;
    expect((await attempt(ghost, 'wrong-password-number-2', freshIp())).status).toBe(401);
    const ghostRecords = (await recordsOf('login', ghost)).filter((r) => r.action === 'login.failure');
    expect(ghostRecords).toHaveLength(1);
  });

  it('lockout and unlock: one record each', async () => {
    const a = await account();
    const ip = freshIp();
    for (let i = 0; i < MAX_FAILURES; i++)
      expect((await attempt(a.username, `wrong-password-${i}`, ip)).status).toBe(401);
    expect((await attempt(a.username, a.password, ip)).status).toBe(423);
    expect(await withAction(a.userId, 'login.failure')).toHaveLength(MAX_FAILURES);
    const lockouts = await withAction(a.userId, 'lockout');
    expect(lockouts).toHaveLength(1);
    expectRecordShape(lockouts[0] as AuditItem, 'lockout', a, a);

    const res = await api.request(`/users/${a.userId}/unlock`, { method: 'POST', token: admin });
    expect(res.status).toBe(204);
    const unlocks = await withAction(a.userId, 'unlock');
    expect(unlocks).toHaveLength(1);
    expectRecordShape(unlocks[0] as AuditItem, 'unlock', a, { userId: adminId });
    expect((await attempt(a.username, a.password, ip)).status).toBe(200);
  });

  it('logout: one record', async () => {
    const a = await account();
    const t = await session(a);
    expect(
      (
        await api.request('/auth/logout', {
          method: 'POST',
          token: t.accessToken,
          body: { refreshToken: t.refreshToken },
        })
      ).status,
    ).toBe(204);
    const records = await withAction(a.userId, 'logout');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'logout', a, a);
  });

  it('refresh token reuse: one record', async () => {
    const a = await account();
    const t = await session(a);
    const rotated = await refreshWith(api, t.refreshToken);
    expect(rotated.status).toBe(200);
    const next = rotated.json as { accessToken: string; refreshToken: string };
    secrets.add(next.accessToken).add(next.refreshToken);
    expect((await refreshWith(api, t.refreshToken)).status).toBe(401);
    const records = await withAction(a.userId, 'refresh.reuse');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'refresh.reuse', a, a);
  });

  it('refresh token reuse names the session by its start, never by its id (a secret to the trail), and is an EMF Revocation', async () => {
    // Prepare
    const a = await account();
    const t = await session(a);
    const sessionId = String(decodeJwt(t.accessToken).payload.sid);
    // The scan at the end of this file then checks every record for it too.
    secrets.add(sessionId);
    const rotated = await refreshWith(api, t.refreshToken);
    expect(rotated.status).toBe(200);
    const next = rotated.json as { accessToken: string; refreshToken: string };
    secrets.add(next.accessToken).add(next.refreshToken);
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const reuse = await refreshWith(api, t.refreshToken);
    const names = addMetric.mock.calls.map(([name]) => name);
    addMetric.mockRestore(); // (it passes calls through: left in place by a failure above, it changes nothing)

    // Assess
    expect(reuse.status).toBe(401);
    const [record] = await withAction(a.userId, 'refresh.reuse');
    expect(JSON.stringify(record)).not.toContain(sessionId);
    expect(record?.changes).toEqual({
      sourceIp: { from: null, to: expect.any(String) },
      sessionStartedAt: { from: null, to: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/) },
    });
    // The family's revocation counts like Prometheus' revocations_total{kind="refresh-reuse"}.
    expect(names).toContain('RefreshTokenReuse');
    expect(names).toContain('Revocation');
  });

  it('revoke-tokens: one record, the admin as actor', async () => {
    const a = await account();
    await session(a);
    expect((await api.request(`/users/${a.userId}/revoke-tokens`, { method: 'POST', token: admin })).status).toBe(204);
    // An item change: its record comes from the users stream, so it arrives a moment later.
    const records = await streamed(a.userId, 'tokens.revoke');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'tokens.revoke', a, { userId: adminId });
  });

  it('password change: one record', async () => {
    const a = await account();
    const t = await session(a);
    const newPassword = `new-${randomBytes(10).toString('hex')}`;
    secrets.add(newPassword);
    const res = await api.request('/users/me/password', {
      method: 'POST',
      token: t.accessToken,
      body: { currentPassword: a.password, newPassword },
      localAddress: freshIp(),
    });
    expect(res.status, res.text).toBe(204);
    // An item change: its record comes from the users stream, so it arrives a moment later.
    const records = await streamed(a.userId, 'password.change');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'password.change', a, a);
  });

  it('role change: one record with the roles before and after', async () => {
    const a = await account(['operator']);
    const res = await api.request(`/users/${a.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', roles: ['viewer', 'auditor'] },
    });
    expect(res.status, res.text).toBe(200);
    // An item change: its record comes from the users stream, so it arrives a moment later.
    const records = await streamed(a.userId, 'role.change');
    expect(records).toHaveLength(1);
    expectRecordShape(records[0] as AuditItem, 'role.change', a, { userId: adminId });
    expect((records[0] as AuditItem).changes).toMatchObject({
      roles: { from: ['operator'], to: ['viewer', 'auditor'] },
    });
  });

  it("each user's chain (security events interleaved with the users stream) verifies", async () => {
    const a = await account();
    const t = await session(a);
    await api.request('/users/me', { method: 'PATCH', token: t.accessToken, body: { displayName: 'Chained' } });
    await api.request(`/users/${a.userId}/revoke-tokens`, { method: 'POST', token: admin });
    // Wait for the stream poller to append the create and both updates.
    await eventually(async () => {
      const streamed = (await recordsOf('user', a.userId)).filter((r) =>
        ['create', 'update', 'tokens.revoke'].includes(r.action),
      );
      expect(streamed.length).toBeGreaterThanOrEqual(3);
    });
    const res = await api.request(`/audit/verify?entityType=user&entityId=${a.userId}`, { token: admin });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ valid: true });
  });
});

describe('a disabled account’s right password is no oracle', () => {
  it(`wrong, wrong, RIGHT, wrong from one address answers like four wrong ones (LOGIN_MAX_FAILURES=${MAX_FAILURES})`, async () => {
    // Prepare
    const a = await account();
    const disabled = await api.request(`/users/${a.userId}`, {
      method: 'PATCH',
      token: admin,
      body: { reason: 'Test change', disabled: true },
    });
    expect(disabled.status, disabled.text).toBe(200);
    const sequence = async (passwords: string[]) => {
      const ip = freshIp();
      const answers = [];
      for (const password of passwords) answers.push(await attempt(a.username, password, ip));
      return answers;
    };

    // Act
    const allWrong = await sequence([
      'wrong-password-a1',
      'wrong-password-a2',
      'wrong-password-a3',
      'wrong-password-a4',
    ]);
    const withRight = await sequence(['wrong-password-b1', 'wrong-password-b2', a.password, 'wrong-password-b4']);

    // Assess: the fourth answer does not tell whether the third was the password (it would be 401 instead of 423).
    expect(allWrong.map((r) => r.status)).toEqual([401, 401, 401, 423]);
    expect(withRight.map((r) => r.status)).toEqual(allWrong.map((r) => r.status));
    const code = (r: { json: unknown }) => (r.json as { error: { code: string; message: string } }).error;
    expect(code(withRight[2] as { json: unknown })).toEqual({
      ...code(allWrong[2] as { json: unknown }),
      id: expect.any(String),
      timestamp: expect.any(String),
    });
    // Each sequence's third attempt locked its pair, the right password as much as the wrong one.
    expect(await withAction(a.userId, 'lockout')).toHaveLength(2);
    const failures = await withAction(a.userId, 'login.failure');
    expect(failures).toHaveLength(6);
    expect(failures.filter((r) => r.reason === 'account disabled')).toHaveLength(1);
  });
});

describe('no secret in any audit record', () => {
  it('scans every audit item: no password, no password hash, no access or refresh token', async () => {
    // Password changes and user creations reach the audit table through the stream: wait until the
    // stream has caught up with every user's current version.
    const listed = (await api.request('/users?limit=100', { token: admin })).json as {
      items: Array<{ userId: string; version: number }>;
    };
    await eventually(async () => {
      const items = (await scanAll('audit')) as AuditItem[];
      for (const user of listed.items) {
        const versions = items
          .filter((i) => i.entityKey === `user#${user.userId}` && typeof i.version === 'number')
          .map((i) => Number(i.version));
        expect(Math.max(0, ...versions), `stream records of user ${user.userId}`).toBeGreaterThanOrEqual(user.version);
      }
    });

    const items = await scanAll('audit');
    expect(items.length).toBeGreaterThan(30);
    const passwordChanges = items.filter((i) => JSON.stringify(i).includes('passwordHash'));
    // The hash field's change is recorded (that it changed), but only ever as redacted.
    expect(passwordChanges.length).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(20);
    for (const item of items) {
      const text = JSON.stringify(item);
      expect(text).not.toContain('$argon2');
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
      for (const secret of secrets)
        expect(text.includes(secret), `audit item ${String(item.entityKey)} #${String(item.seq)} holds a secret`).toBe(
          false,
        );
    }
  });
});
