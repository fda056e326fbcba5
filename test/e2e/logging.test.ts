import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { ensureTables } from '#local/tables';
import { adminToken } from '#test/support/auth';
import type { LocalApi } from '#test/support/local-api';
import { jsonLines, localApiWithCapturedStdout } from '#test/support/stdout';

// The suite runs with LOG_LEVEL=SILENT; this file reads the log. Powertools takes the level from the
// environment when the logger is created (and restores it on every invocation), so set it before any import.
vi.hoisted(() => {
  vi.stubEnv('LOG_LEVEL', 'INFO');
});

let api: LocalApi;
let token: string;
/** Everything written to stdout in this file: the log, kept out of the test report. */
const stdout = localApiWithCapturedStdout(async (started) => {
  api = started;
  token = await adminToken(api);
});

/** Every JSON log line the local server's handlers write to stdout while `fn` runs. */
const captureLogs = async (fn: () => Promise<void>) => jsonLines(await stdout.during(fn));

interface ErrorBody {
  error: { id: string; code: string };
}

describe('log lines and correlation ids', () => {
  it("an error's log line carries its id and the caller's X-Request-ID as correlation_id", async () => {
    let body: ErrorBody | undefined;
    const logs = await captureLogs(async () => {
      const res = await api.request('/charges/does-not-exist', { token, headers: { 'X-Request-ID': 'log-test-1' } });
      expect(res.status).toBe(404);
      body = res.json as ErrorBody;
    });
    const line = logs.find((l) => l.error_id === body?.error.id);
    expect(line, JSON.stringify(logs)).toBeDefined();
    expect(line).toMatchObject({ correlation_id: 'log-test-1', code: 'NOT_FOUND', level: 'INFO' });
  });

  it('concurrent requests never borrow each other’s correlation id, even across an await', async () => {
    // Each request reads DynamoDB before failing, so the invocations interleave inside one process.
    const ids = Array.from({ length: 30 }, (_, i) => `concurrent-${i}`);
    const answers = new Map<string, string>();
    const logs = await captureLogs(async () => {
      await Promise.all(
        ids.map(async (id) => {
          const res = await api.request(`/charges/missing-${id}`, { token, headers: { 'X-Request-ID': id } });
          expect(res.status).toBe(404);
          answers.set((res.json as ErrorBody).error.id, id);
        }),
      );
    });
    const errorLines = logs.filter((l) => typeof l.error_id === 'string' && answers.has(l.error_id));
    expect(errorLines).toHaveLength(ids.length);
    for (const line of errorLines) expect(line.correlation_id).toBe(answers.get(line.error_id as string));
  });

  it('an insane X-Request-ID is replaced, and the replacement is what the log and the response carry', async () => {
    let echoed: string | undefined;
    let body: ErrorBody | undefined;
    const logs = await captureLogs(async () => {
      const res = await api.request('/charges/does-not-exist', {
        token,
        headers: { 'X-Request-ID': 'bad id with spaces <script>' },
      });
      echoed = res.headers['x-request-id'] as string;
      body = res.json as ErrorBody;
    });
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    expect(logs.find((l) => l.error_id === body?.error.id)?.correlation_id).toBe(echoed);
    expect(JSON.stringify(logs)).not.toContain('<script>');
  });

  it('log lines never contain the bearer token or a password', async () => {
    const logs = await captureLogs(async () => {
      await api.request('/charges/does-not-exist', { token });
      await api.request('/auth/login', {
        method: 'POST',
        body: { username: 'admin', password: 'wrong-password-for-log-test' },
      });
    });
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(0);
    expect(text).not.toContain(token);
    expect(text).not.toContain('wrong-password-for-log-test');
  });
});

describe('readiness failures', () => {
  it("the public 503 shows a coarse reason; the dependency's message is in the log line under the error id", async () => {
    // Prepare
    const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
    const prefix = process.env.TABLE_PREFIX as string;
    await client.send(new DeleteTableCommand({ TableName: `${prefix}reports` }));
    try {
      // Act
      // Powertools writes ERROR lines through console.error: stderr, not the stdout captured above.
      const stderr: string[] = [];
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stderr.push(String(chunk));
        return true;
      });
      let res: Awaited<ReturnType<LocalApi['request']>> | undefined;
      try {
        res = await api.request('/status/health/readiness');
      } finally {
        spy.mockRestore();
      }
      const logs = jsonLines(stderr.join(''));
      // Assess
      expect(res?.status, res?.text).toBe(503);
      const body = res?.json as ErrorBody & { checks: Record<string, unknown> };
      expect(body.checks['table:reports']).toEqual({
        status: 'unhealthy',
        responseTimeMs: expect.any(Number),
        reason: 'error',
      });
      expect(body.checks['table:charges']).toEqual({ status: 'ok', responseTimeMs: expect.any(Number) });
      expect(res?.text).not.toContain(`${prefix}reports`);
      expect(res?.text).not.toMatch(/non-existent|not found|ResourceNotFound/i);

      const line = logs.find((l) => l.error_id === body.error.id);
      expect(line, JSON.stringify(logs)).toMatchObject({ level: 'ERROR', code: 'UNAVAILABLE' });
      const cause = (line?.error as { cause?: { checks?: Record<string, { error?: string }> } }).cause;
      expect(cause?.checks?.['table:reports']?.error).toMatch(/non-existent table|not found/i);
      expect(Object.keys(cause?.checks ?? {})).toEqual(['table:reports']);
    } finally {
      await ensureTables(client, prefix);
      client.destroy();
    }
  });
});
