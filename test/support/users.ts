import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Role } from '#platform/permissions';
import { adminToken, login } from './auth';
import type { LocalApi } from './local-api';

/** A user made through the API, with the password it was made with. */
export interface Account {
  userId: string;
  username: string;
  password: string;
}

/** An account that is logged in. */
export interface TestUser extends Account {
  token: string;
  refreshToken: string;
}

/** POST /users as the bootstrap admin, with a strong random password; fails the test unless 201. */
async function createUser(api: LocalApi, roles: Role[], username: string): Promise<Account> {
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const res = await api.request('/users', {
    method: 'POST',
    token: await adminToken(api),
    body: { username, password, roles, reason: 'Test account' },
  });
  expect(res.status, res.text).toBe(201);
  return { userId: (res.json as { userId: string }).userId, username, password };
}

/** Creates a user with these roles through the API (as admin), named `<prefix>-<random>`, not logged in. */
export function createAccount(api: LocalApi, roles: Role[], prefix = 'sec'): Promise<Account> {
  return createUser(api, roles, `${prefix}-${randomBytes(5).toString('hex')}`);
}

/** Creates a user with these roles through the API (as admin) and logs them in. */
export async function userWithRoles(api: LocalApi, roles: Role[], name?: string): Promise<TestUser> {
  const username = name ?? `u-${roles.join('-') || 'none'}-${randomBytes(4).toString('hex')}`;
  const account = await createUser(api, roles, username);
  const tokens = await login(api, account.username, account.password, '127.0.0.253');
  return { ...account, token: tokens.accessToken, refreshToken: tokens.refreshToken };
}
