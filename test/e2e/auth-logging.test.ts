import { describe, expect, it, vi } from 'vitest';
import type { LocalApi } from '#test/support/local-api';
import { expect401, signIn } from '#test/support/security';
import { createAccount } from '#test/support/users';
import { jsonLines, localApiWithCapturedStdout } from '#test/support/stdout';

/**
 * The authorizer's log lines carry `correlation_id` = the request id by the handlers'
 * rule, so the line that says why a request got 401 or 403 can be found by the id the caller saw; and so does the
 * local server's own line for the gateway's answer, in a context of its own.
 */

// The suite runs with LOG_LEVEL=SILENT; this file reads the log (see test/e2e/logging.test.ts).
vi.hoisted(() => {
  vi.stubEnv('LOG_LEVEL', 'INFO');
});

let api: LocalApi;
const stdout = localApiWithCapturedStdout((started) => {
  api = started;
});
const captureLogs = async (fn: () => Promise<void>) => jsonLines(await stdout.during(fn));
const authorizerLines = (logs: Record<string, unknown>[], message: string) =>
  logs.filter((l) => l.message === message && l.function_name === 'local-authorizer');

describe("the authorizer's log lines", () => {
  it('a revoked token with X-Request-ID: corr-xyz → its "unauthorized" line has correlation_id corr-xyz, the reason and the user', async () => {
    // Prepare
    const account = await createAccount(api, ['viewer'], 'log');
    const session = await signIn(api, account);
    expect((await api.request('/auth/logout', { method: 'POST', token: session.accessToken })).status).toBe(204);

    // Act
    const logs = await captureLogs(async () => {
      const res = await api.request('/users/me', {
        token: session.accessToken,
        headers: { 'X-Request-ID': 'corr-xyz' },
      });
      expect401(res);
      expect(res.headers['x-request-id']).toBe('corr-xyz');
    });

    // Assess
    const lines = authorizerLines(logs, 'unauthorized');
    expect(lines, JSON.stringify(logs)).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      correlation_id: 'corr-xyz',
      reason: 'token revoked',
      resource: '/users/me',
      user_id: account.userId,
    });
  });

  it('a token that does not verify names no user; without a sane X-Request-ID the id is the request id the caller got', async () => {
    // Act
    let echoed: unknown;
    const logs = await captureLogs(async () => {
      const res = await api.request('/users/me', {
        token: 'not.a.jwt',
        headers: { 'X-Request-ID': 'no spaces <allowed>' },
      });
      expect401(res);
      echoed = res.headers['x-request-id'];
    });

    // Assess
    const [line] = authorizerLines(logs, 'unauthorized');
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    expect(line, JSON.stringify(logs)).toMatchObject({ correlation_id: echoed });
    expect(line).not.toHaveProperty('user_id');
  });

  it('a missing permission: the "denied" line carries the correlation id too', async () => {
    // Prepare
    const viewer = await signIn(api, await createAccount(api, ['viewer'], 'log'));

    // Act
    const logs = await captureLogs(async () => {
      const res = await api.request('/audit', {
        token: viewer.accessToken,
        headers: { 'X-Request-ID': 'corr-denied-1' },
      });
      expect(res.status, res.text).toBe(403);
    });

    // Assess
    const lines = authorizerLines(logs, 'denied: missing permission');
    expect(lines, JSON.stringify(logs)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ correlation_id: 'corr-denied-1', resource: '/audit' });
  });

  it("the local server's line for the gateway's 401 carries the correlation id and its own context, not a stale function's", async () => {
    // Act
    const logs = await captureLogs(async () => {
      expect401(await api.request('/users/me', { headers: { 'X-Request-ID': 'corr-gateway-1' } }));
    });

    // Assess
    const lines = logs.filter((l) => l.request_id === 'corr-gateway-1' && l.error_id !== undefined);
    expect(lines, JSON.stringify(logs)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ correlation_id: 'corr-gateway-1', function_name: 'local-gateway', status: 401 });
  });
});
