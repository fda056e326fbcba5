import { createServer, type Server } from 'node:http';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '#platform/errors';
import { LOCKOUT_SCOPES, LOGIN_OUTCOMES, REVOCATION_KINDS } from '#platform/observability/prometheus';
import { ensureTables } from '#local/tables';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { userWithRoles } from '#test/support/users';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

interface MetricFamily {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[];
}

let api: LocalApi;
let hanging: Server;
let hangingUrl: string;

beforeAll(async () => {
  // An external dependency that accepts the connection and never answers.
  hanging = createServer(() => undefined);
  await new Promise<void>((ok) => hanging.listen(0, '127.0.0.1', () => ok()));
  hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/health`;
  vi.stubEnv('HEALTH_EXTERNAL_CHECKS', JSON.stringify([{ name: 'erp', url: hangingUrl }]));
  api = await startLocalApi();
});
afterAll(async () => {
  await api.stop();
  hanging.closeAllConnections();
  hanging.close();
  vi.unstubAllEnvs();
});

async function scrape(token: string): Promise<Map<string, MetricFamily>> {
  const res = await api.request('/metrics', { token });
  expect(res.status, res.text).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(res.text) as MetricFamily[];
  return new Map(families.map((f) => [f.name, f]));
}

const sample = (family: MetricFamily | undefined, labels: Record<string, string>) =>
  family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

describe('GET /metrics', () => {
  it('is Prometheus text format whose request counters move with traffic', async () => {
    const token = await adminToken(api);
    const before = await scrape(token);
    const counted = (families: Map<string, MetricFamily>) =>
      Number(
        sample(families.get('charge_records_http_requests_total'), {
          method: 'GET',
          route: '/status/health/liveness',
          status: '200',
        })?.value ?? 0,
      );
    for (let i = 0; i < 3; i++) expect((await api.request('/status/health/liveness')).status).toBe(200);
    const after = await scrape(token);
    expect(counted(after) - counted(before)).toBe(3);
    expect(after.get('charge_records_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(Number(sample(after.get('charge_records_logins_total'), { outcome: 'success' })?.value)).toBeGreaterThan(0);
    expect(Number(after.get('charge_records_users')?.metrics[0]?.value)).toBeGreaterThanOrEqual(1);
    expect(
      after
        .get('charge_records_charges')
        ?.metrics.map((m) => m.labels?.status)
        .sort(),
    ).toEqual(['blocked', 'in_production', 'quarantine', 'rejected', 'released']);
    expect(Number(after.get('charge_records_signing_key_age_seconds')?.metrics[0]?.value)).toBeGreaterThanOrEqual(0);
    expect(
      after
        .get('charge_records_report_runs')
        ?.metrics.map((m) => m.labels?.status)
        .sort(),
    ).toEqual(['failed', 'running', 'succeeded']);
  });

  it('lists every security series from a fresh start, at 0 until its first event', async () => {
    // Act: this file's server has seen logins, but never a lockout.
    const res = await api.request('/metrics', { token: await adminToken(api) });

    // Assess
    expect(res.status).toBe(200);
    for (const scope of LOCKOUT_SCOPES) {
      expect(res.text).toMatch(new RegExp(`^charge_records_lockouts_total\\{[^}]*scope="${scope}"[^}]*\\} 0$`, 'm'));
    }
    const families = parsePrometheusTextFormat(res.text) as MetricFamily[];
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const outcome of LOGIN_OUTCOMES)
      expect(sample(byName.get('charge_records_logins_total'), { outcome }), outcome).toBeDefined();
    for (const kind of REVOCATION_KINDS)
      expect(sample(byName.get('charge_records_revocations_total'), { kind }), kind).toBeDefined();
  });

  it('counts the revocations a role change, a password change and a disable cause', async () => {
    // Prepare
    const token = await adminToken(api);
    const revoked = async (kind: string) =>
      Number(sample((await scrape(token)).get('charge_records_revocations_total'), { kind })?.value ?? Number.NaN);
    const target = await userWithRoles(api, ['viewer']);
    const kinds = ['role-change', 'password-change', 'disable'] as const;
    const before = await Promise.all(kinds.map(revoked));

    // Act
    const changed = await api.request('/users/me/password', {
      method: 'POST',
      token: target.token,
      body: { currentPassword: target.password, newPassword: `new-${target.password}` },
    });
    const patched = await api.request(`/users/${target.userId}`, {
      method: 'PATCH',
      token,
      body: { reason: 'Test change', roles: ['operator'] },
    });
    const deleted = await api.request(`/users/${target.userId}`, {
      method: 'DELETE',
      token,
      body: { reason: 'Test removal' },
    });

    // Assess
    expect(changed.status, changed.text).toBe(204);
    expect(patched.status, patched.text).toBe(200);
    expect(deleted.status, deleted.text).toBe(204);
    expect(await Promise.all(kinds.map(revoked))).toEqual(before.map((n) => n + 1));
  });

  it('is 401 without a token and 403 without metrics:read', async () => {
    expectError(await api.request('/metrics'), 401, 'UNAUTHORIZED');
    const qm = await userWithRoles(api, ['quality_manager']);
    expectError(await api.request('/metrics', { token: qm.token }), 403, 'FORBIDDEN');
    expectError(await api.request('/status/health/detailed', { token: qm.token }), 403, 'FORBIDDEN');
  });
});

describe('GET /status/health/detailed', () => {
  it('is degraded (still 200) when only an external service hangs, and answers within the check timeout', async () => {
    const started = performance.now();
    const res = await api.request('/status/health/detailed', { token: await adminToken(api) });
    const elapsed = performance.now() - started;
    expect(res.status, res.text).toBe(200);
    const body = res.json as { checks: Record<string, unknown> } & Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'degraded',
      version: expect.any(String),
      external: {
        erp: { status: 'unhealthy', responseTimeMs: expect.any(Number), error: expect.stringMatching(/timed out/) },
      },
      signingKey: { kid: expect.any(String), ageSeconds: expect.any(Number), nextRotation: expect.any(String) },
    });
    for (const name of [
      'table:charges',
      'table:users',
      'table:audit',
      'table:auth-state',
      'table:reports',
      'signing-key',
    ]) {
      expect(body.checks[name], name).toMatchObject({ status: 'ok', responseTimeMs: expect.any(Number) });
    }
    // Bounded by the per-check timeout (1.5 s), not by the hanging server; generous slack for a shared machine.
    expect(elapsed).toBeLessThan(1500 * 3);
  });

  it('is unhealthy with 503 when an own dependency is gone', async () => {
    const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
    const prefix = process.env.TABLE_PREFIX as string;
    await client.send(new DeleteTableCommand({ TableName: `${prefix}reports` }));
    try {
      const res = await api.request('/status/health/detailed', { token: await adminToken(api) });
      const error = expectError(res, 503, 'UNAVAILABLE');
      expect(error.message).toMatch(/unhealthy/);
      // A 503 says when to come back, as every other one does.
      expect(res.headers['retry-after']).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      const body = res.json as { status: string; checks: Record<string, Record<string, unknown>> };
      expect(body.status).toBe('unhealthy');
      // metrics:read callers see the dependency's own message, in the shape {status, responseTimeMs, error?}.
      expect(body.checks['table:reports']).toEqual({
        status: 'unhealthy',
        responseTimeMs: expect.any(Number),
        error: expect.stringMatching(/non-existent table|not found/i),
      });
      expect(body.checks['table:charges']).toEqual({ status: 'ok', responseTimeMs: expect.any(Number) });
    } finally {
      await ensureTables(client, prefix);
      client.destroy();
    }
  });
});
