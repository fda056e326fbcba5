import { describe, expect, it, vi } from 'vitest';
import { logger } from '#platform/powertools';
import { LOG_REDACTED } from '#platform/observability/log-redaction';
import { adminToken } from '#test/support/auth';
import { apiEvent } from '#test/support/events';
import type { LocalApi } from '#test/support/local-api';
import { jsonLines, localApiWithCapturedStdout } from '#test/support/stdout';

// Set before any import creates the Logger: INFO (the suite runs SILENT) and the standard Powertools switch that
// would log every invocation event, bearer token and body included, unless the handlers refuse it.
vi.hoisted(() => {
  vi.stubEnv('LOG_LEVEL', 'INFO');
  vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
});

let api: LocalApi;
let token: string;
const stdout = localApiWithCapturedStdout(async (started) => {
  api = started;
  token = await adminToken(api);
});
const captureOutput = stdout.during;

const COOKIE = 'session=cookie-secret-4711';
const PASSWORD = 'hunter2-hunter2-secret';

describe('log redaction with POWERTOOLS_LOGGER_LOG_EVENT=true', () => {
  it('never writes the bearer token, the cookie or a password from the requests', async () => {
    // Act: an authenticated request through the authorizer, a login and a user creation with passwords in the body.
    const output = await captureOutput(async () => {
      await api.request('/charges/does-not-exist', { token, headers: { Cookie: COOKIE } });
      await api.request('/auth/login', {
        method: 'POST',
        headers: { Cookie: COOKIE },
        body: { username: 'admin', password: PASSWORD },
      });
      await api.request('/users', {
        method: 'POST',
        token,
        headers: { Cookie: COOKIE },
        body: {
          username: 'log-redaction-user',
          password: `${PASSWORD}-new`,
          roles: ['viewer'],
          reason: 'Test account',
        },
      });
    });

    // Assess: the requests were logged about, yet none of their secrets, and no event dump at all.
    const lines = jsonLines(output);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map((l) => l.message)).not.toContain('Lambda invocation event');
    expect(output).not.toContain(token);
    expect(output).not.toContain(token.split('.')[2]!);
    expect(output).not.toContain('cookie-secret-4711');
    expect(output).not.toContain(PASSWORD);
  });

  it('redacts a direct log call at any depth', async () => {
    const output = await captureOutput(async () => {
      logger.info('x', { password: 'p', nested: { refreshToken: 't', list: [{ accessToken: 'a' }] }, user: 'alice' });
    });
    const line = jsonLines(output).find((l) => l.message === 'x');
    expect(line).toMatchObject({
      password: LOG_REDACTED,
      nested: { refreshToken: LOG_REDACTED, list: [{ accessToken: LOG_REDACTED }] },
      user: 'alice',
    });
  });

  it('would redact the event itself, should anything still log it', async () => {
    // Prepare: the event API Gateway sends for a login, with a bearer header and a cookie too.
    const event = apiEvent({
      resource: '/auth/login',
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Cookie: COOKIE },
      body: { username: 'admin', password: PASSWORD },
    });
    // Act: the logger's own event logging, which the environment switch turns on.
    const output = await captureOutput(async () => {
      logger.logEventIfEnabled(event);
    });
    // Assess
    const line = jsonLines(output).find((l) => l.message === 'Lambda invocation event');
    expect(line).toBeDefined();
    expect(output).not.toContain(token);
    expect(output).not.toContain('cookie-secret-4711');
    expect(output).not.toContain(PASSWORD);
    expect(line).toMatchObject({
      event: {
        headers: { Authorization: LOG_REDACTED, Cookie: LOG_REDACTED },
        body: `{"username":"admin","password":"${LOG_REDACTED}"}`,
      },
    });
  });
});
