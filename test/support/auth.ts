import { expect } from 'vitest';
import type { LocalApi } from './local-api';

export const ADMIN_PASSWORD = 'test-admin-password-1';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

/** Logs in over HTTP and fails the test with the response if that does not work. */
export async function login(api: LocalApi, username: string, password: string, localAddress?: string): Promise<Tokens> {
  const res = await api.request('/auth/login', { method: 'POST', body: { username, password }, localAddress });
  expect(res.status, res.text).toBe(200);
  return res.json as Tokens;
}

const adminTokens = new WeakMap<LocalApi, Promise<Tokens>>();

/** The bootstrap admin's token (setup-env sets BOOTSTRAP_ADMIN_PASSWORD); one login per server. */
export function adminToken(api: LocalApi): Promise<string> {
  let tokens = adminTokens.get(api);
  if (!tokens) {
    // A loopback address of its own, so the admin's logins never share a per-IP counter with a test's.
    tokens = login(api, 'admin', ADMIN_PASSWORD, '127.0.0.254');
    adminTokens.set(api, tokens);
  }
  return tokens.then((t) => t.accessToken);
}
