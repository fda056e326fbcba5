import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, login } from '#test/support/auth';
import { type TestUser, userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

/**
 * Two admins send `PATCH /users/<other> {"roles":["viewer"]}` at the same moment, over HTTP. Both pass the
 * authorizer as admins; were both to win and they the only admins, nobody could manage users again. Exactly one wins.
 */
let api: LocalApi;
let a: TestUser;
let b: TestUser;

beforeAll(async () => {
  api = await startLocalApi();
  const bootstrap = await adminToken(api);
  a = await userWithRoles(api, ['admin']);
  b = await userWithRoles(api, ['admin']);
  // Leave a and b the only enabled local admins.
  const bootstrapId = ((await api.request('/users/me', { token: bootstrap })).json as { userId: string }).userId;
  const disabled = await api.request(`/users/${bootstrapId}`, {
    method: 'PATCH',
    token: a.token,
    body: { reason: 'Test change', disabled: true },
  });
  expect(disabled.status, disabled.text).toBe(200);
});
afterAll(() => api?.stop());

type Listed = { userId: string; roles: string[]; disabled: boolean };

async function enabledAdmins(token: string): Promise<string[]> {
  const res = await api.request('/users?limit=100', { token });
  expect(res.status, res.text).toBe(200);
  return (res.json as { items: Listed[] }).items
    .filter((u) => !u.disabled && u.roles.includes('admin'))
    .map((u) => u.userId);
}

describe('the only two admins demote each other at the same moment', () => {
  it('exactly one succeeds; the other is refused and one admin remains (4 rounds)', async () => {
    for (let round = 0; round < 4; round++) {
      // Act
      const [byA, byB] = await Promise.all([
        api.request(`/users/${b.userId}`, {
          method: 'PATCH',
          token: a.token,
          body: { reason: 'Test change', roles: ['viewer'] },
        }),
        api.request(`/users/${a.userId}`, {
          method: 'PATCH',
          token: b.token,
          body: { reason: 'Test change', roles: ['viewer'] },
        }),
      ]);

      // Assess: one 200; the other 409 (the last admin), or 401 when its token died with its demotion first.
      const answers = [byA, byB];
      expect(
        answers.filter((r) => r.status === 200),
        answers.map((r) => r.text).join('\n'),
      ).toHaveLength(1);
      const refused = answers.find((r) => r.status !== 200)!;
      expect([409, 401], refused.text).toContain(refused.status);
      const [winner, loser] = byA.status === 200 ? [a, b] : [b, a];
      expect(await enabledAdmins(winner.token)).toEqual([winner.userId]);

      // Prepare the next round: the loser is admin again, with a fresh token (the role change ended its sessions).
      const restored = await api.request(`/users/${loser.userId}`, {
        method: 'PATCH',
        token: winner.token,
        body: { reason: 'Test change', roles: ['admin'] },
      });
      expect(restored.status, restored.text).toBe(200);
      loser.token = (await login(api, loser.username, loser.password, '127.0.0.253')).accessToken;
      winner.token = (await login(api, winner.username, winner.password, '127.0.0.253')).accessToken;
    }
  });
});
