import { createHmac, createSign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { login, type Tokens } from './auth';
import type { ApiResponse, LocalApi } from './local-api';

/**
 * Helpers for the attack tests (test/e2e/auth-*.test.ts, rbac, oidc, rate-limit, security-audit): sessions from
 * addresses of their own, hand-made JWTs, and an HTTP server that counts what reaches it (users: ./users.ts).
 */

let ipCounter = 0;
/** A loopback source address of its own (127.1.x.y), so per-IP login counters of one test never meet another's. */
export function freshIp(): string {
  const n = ipCounter++;
  return `127.1.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
}

/** A fresh login (a new session) from an address of its own. */
export const signIn = (api: LocalApi, account: { username: string; password: string }): Promise<Tokens> =>
  login(api, account.username, account.password, freshIp());

export const refreshWith = (api: LocalApi, refreshToken: string) =>
  api.request('/auth/refresh', { method: 'POST', body: { refreshToken }, localAddress: freshIp() });

export const whoAmI = (api: LocalApi, token: string) => api.request('/users/me', { token });

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  const part = (s: string | undefined) =>
    JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(h), payload: part(p) };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT signed RS256 with the given private key, whatever its header says. */
export function signRs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key);
  return `${input}.${signature.toString('base64url')}`;
}

/** A JWT "signed" HS256 with the given secret (the public-key-as-HMAC-secret confusion attack). */
export function signHs256(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string | Buffer,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** An unsigned JWT (`alg: none`). */
export function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64(header)}.${b64(payload)}.`;
}

/** The same token with its payload replaced and the original signature kept. */
export function withPayload(token: string, payload: Record<string, unknown>): string {
  const [h, , s] = token.split('.');
  return `${h}.${b64(payload)}.${s}`;
}

/** An HTTP server on 127.0.0.1 that answers every request with `body` and counts what reached it. */
export async function countingServer(body: (path: string) => unknown = () => ({})) {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '/');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body(req.url ?? '/')));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** The API's 401: error shape plus `WWW-Authenticate: Bearer`. */
export function expect401(res: ApiResponse): void {
  expect(res.status, res.text).toBe(401);
  expect((res.json as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  expect(res.headers['www-authenticate']).toBe('Bearer');
}
