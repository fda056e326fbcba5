import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { eventually } from '#test/support/eventually';
import { ADMIN_PASSWORD, adminToken } from '#test/support/auth';
import { type ApiResponse, type LocalApi, startLocalApi } from '#test/support/local-api';
import { userWithRoles } from '#test/support/users';

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(async () => {
  await api.stop();
});

const PROMTOOL = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
const FORM = 'application/x-www-form-urlencoded';

interface Credentials {
  serviceAccountId: string;
  clientId: string;
  clientSecret: string;
  permissions: string[];
}

async function createServiceAccount(permissions: string[], name = 'prometheus'): Promise<Credentials> {
  const res = await api.request('/service-accounts', {
    method: 'POST',
    token: await adminToken(api),
    body: { name, permissions, reason: 'Monitoring scrapes /metrics' },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as Credentials;
}

/** golang.org/x/oauth2's client_secret_basic: each part URL-escaped, then Basic. */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * Exactly what Prometheus' `oauth2:` client (golang.org/x/oauth2/clientcredentials) sends: a form POST to the
 * token URL with the client in HTTP Basic, `grant_type` and the configured scopes in the body.
 */
function prometheusTokenRequest(c: { clientId: string; clientSecret: string }, localAddress = '127.0.0.41') {
  return api.request('/auth/token', {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basic(c.clientId, c.clientSecret) },
    rawBody: new URLSearchParams({ grant_type: 'client_credentials', scope: 'metrics:read' }).toString(),
    localAddress,
  });
}

async function clientToken(c: Credentials): Promise<string> {
  const res = await prometheusTokenRequest(c);
  expect(res.status, res.text).toBe(200);
  return (res.json as { access_token: string }).access_token;
}

const auditOf = async (id: string) => {
  const res = await api.request(`/audit?entityType=service-account&entityId=${id}`, { token: await adminToken(api) });
  expect(res.status, res.text).toBe(200);
  return res;
};

describe('service accounts and the client-credentials grant', () => {
  it('lets Prometheus scrape /metrics as its oauth2 client does, and the scrape passes promtool', async () => {
    const account = await createServiceAccount(['metrics:read']);
    expect(account.clientId).toBe(account.serviceAccountId);
    expect(account.clientSecret).toMatch(/^crs_[A-Za-z0-9_-]{43}$/);

    const res = await prometheusTokenRequest(account);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number), scope: 'metrics:read' });
    expect(res.headers['cache-control']).toBe('no-store');
    const token = (res.json as { access_token: string }).access_token;

    const metrics = await api.request('/metrics', { token });
    expect(metrics.status, metrics.text).toBe(200);
    expect(metrics.text).toMatch(/^charge_records_client_tokens_total\{[^}]*outcome="success"[^}]*\} [1-9]/m);
    expect(metrics.text).toMatch(/^charge_records_logins_total\{[^}]*outcome="locked"[^}]*\} \d+/m);
    expect(metrics.text).toMatch(/^charge_records_report_download_links_total\{[^}]*kind="run"[^}]*\} \d+/m);
    if (!PROMTOOL) return; // promtool (Debian package `prometheus`) missing: the exposition check below cannot run
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: metrics.text, encoding: 'utf8' });
    // promtool exits 3 for lint findings (naming advice) and 1 for a text format it cannot parse.
    expect(check.stderr + check.stdout).not.toMatch(/error while linting|parse error/i);
    expect([0, 3], check.stderr + check.stdout).toContain(check.status);
  });

  it('ships a Prometheus scrape config that promtool accepts', () => {
    if (!PROMTOOL) return; // promtool (Debian package `prometheus`) missing: nothing to check the config with
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-config-'));
    // The example names its secret file; promtool reads configs only, so an empty stand-in in a copy is enough.
    const config = execFileSync('cat', [resolve(import.meta.dirname, '../../docs/prometheus.yml')], {
      encoding: 'utf8',
    }).replace('/etc/prometheus/charge-records-client-secret', join(dir, 'secret'));
    writeFileSync(join(dir, 'secret'), 'crs_example\n');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const check = spawnSync(PROMTOOL, ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(config).toMatch(/oauth2:\n\s+client_id: .+\n\s+client_secret_file: .+\n\s+token_url: .+\/auth\/token/);
  });

  it('accepts the client in the form body and as JSON', async () => {
    const account = await createServiceAccount(['metrics:read', 'charges:read'], 'erp-import');
    const form = await api.request('/auth/token', {
      method: 'POST',
      headers: { 'content-type': FORM },
      rawBody: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: account.clientId,
        client_secret: account.clientSecret,
      }).toString(),
      localAddress: '127.0.0.42',
    });
    expect(form.status, form.text).toBe(200);
    expect((form.json as { scope: string }).scope).toBe('metrics:read charges:read');
    const json = await api.request('/auth/token', {
      method: 'POST',
      body: { grant_type: 'client_credentials', client_id: account.clientId, client_secret: account.clientSecret },
      localAddress: '127.0.0.42',
    });
    expect(json.status, json.text).toBe(200);
    const token = (json.json as { access_token: string }).access_token;
    expect((await api.request('/charges?limit=1', { token })).status).toBe(200);
  });

  it("gives a token only the account's permissions: no other route, no person's own-account routes", async () => {
    const token = await clientToken(await createServiceAccount(['metrics:read']));
    expectError(await api.request('/charges', { token }), 403, 'FORBIDDEN');
    expectError(await api.request('/users', { token }), 403, 'FORBIDDEN');
    expectError(await api.request('/service-accounts', { token }), 403, 'FORBIDDEN');
    expectError(await api.request('/users/me', { token }), 403, 'FORBIDDEN');
    expectError(await api.request('/auth/logout', { method: 'POST', token, body: {} }), 403, 'FORBIDDEN');
    expect((await api.request('/status/health/detailed', { token })).status).not.toBe(403);
  });

  it('refuses wrong clients with 401 in the API error shape, and audits it', async () => {
    const account = await createServiceAccount(['metrics:read']);
    const wrong = await prometheusTokenRequest({ clientId: account.clientId, clientSecret: 'crs_wrong' }, '127.0.0.43');
    const error = expectError(wrong, 401, 'UNAUTHORIZED');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
    expect(JSON.stringify(error)).not.toContain(account.clientSecret);
    const unknown = await prometheusTokenRequest(
      { clientId: 'sa-00000000-0000-4000-8000-000000000000', clientSecret: account.clientSecret },
      '127.0.0.43',
    );
    expectError(unknown, 401, 'UNAUTHORIZED');
    expect(unknown.json).toMatchObject({
      error: { message: (wrong.json as { error: { message: string } }).error.message },
    });
    // Without any client authentication.
    const none = await api.request('/auth/token', {
      method: 'POST',
      headers: { 'content-type': FORM },
      rawBody: 'grant_type=client_credentials',
      localAddress: '127.0.0.43',
    });
    expectError(none, 401, 'UNAUTHORIZED');

    // The create comes from the users table's stream, a moment later; the refused token requests are appended at once.
    const audit = await eventually(async () => {
      const res = await auditOf(account.serviceAccountId);
      const actions = (res.json as { items: { action: string }[] }).items.map((r) => r.action);
      expect(actions).toEqual(expect.arrayContaining(['service-account.create', 'token.failure']));
      return res;
    });
    expect(audit.text).not.toContain(account.clientSecret);
    expect(audit.text).not.toContain('crs_wrong');
  });

  it('answers malformed token requests in the API error shape, never 5xx', async () => {
    const account = await createServiceAccount(['metrics:read']);
    const post = (headers: Record<string, string>, rawBody: string) =>
      api.request('/auth/token', { method: 'POST', headers, rawBody, localAddress: '127.0.0.44' });
    const auth = basic(account.clientId, account.clientSecret);
    expectError(
      await post({ 'content-type': FORM, authorization: auth }, 'grant_type=password'),
      422,
      'VALIDATION_ERROR',
    );
    expectError(await post({ 'content-type': FORM, authorization: auth }, ''), 422, 'VALIDATION_ERROR');
    expectError(
      await post({ 'content-type': 'text/plain', authorization: auth }, 'grant_type=client_credentials'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectError(
      await post(
        { 'content-type': FORM, authorization: auth },
        'grant_type=client_credentials&grant_type=client_credentials',
      ),
      400,
      'BAD_REQUEST',
    );
    expectError(
      await post(
        { 'content-type': FORM, authorization: auth },
        `grant_type=client_credentials&client_id=${account.clientId}&client_secret=${account.clientSecret}`,
      ),
      400,
      'BAD_REQUEST',
    );
    // An over-long client id would become an audit chain's key: refused before anything is stored.
    expectError(
      await post(
        { 'content-type': FORM, authorization: basic('x'.repeat(3000), 'y') },
        'grant_type=client_credentials',
      ),
      400,
      'BAD_REQUEST',
    );
    expectError(
      await post({ 'content-type': FORM, authorization: 'Basic !!!' }, 'grant_type=client_credentials'),
      400,
      'BAD_REQUEST',
    );
    expectError(
      await post({ 'content-type': FORM, authorization: auth }, 'grant_type=client_credentials&scope=users%3Amanage'),
      422,
      'VALIDATION_ERROR',
    );
    expectError(
      await post({ 'content-type': FORM, authorization: auth }, 'grant_type=client_credentials&extra=1'),
      400,
      'BAD_REQUEST',
    );
  });

  it('rotating the secret ends the old secret and every token issued with it on the next request', async () => {
    const account = await createServiceAccount(['metrics:read']);
    const oldToken = await clientToken(account);
    expect((await api.request('/metrics', { token: oldToken })).status).toBe(200);

    const rotated = await api.request(`/service-accounts/${account.serviceAccountId}/rotate-secret`, {
      method: 'POST',
      token: await adminToken(api),
      body: { reason: 'Quarterly rotation' },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const renewed = rotated.json as Credentials;
    expect(renewed.clientSecret).not.toBe(account.clientSecret);

    expectError(await api.request('/metrics', { token: oldToken }), 401, 'UNAUTHORIZED');
    expectError(await prometheusTokenRequest(account), 401, 'UNAUTHORIZED');
    const newToken = await clientToken(renewed);
    expect((await api.request('/metrics', { token: newToken })).status).toBe(200);
  });

  it('deleting an account ends its secret and tokens; it leaves the list, the record stays on the audit trail', async () => {
    const account = await createServiceAccount(['metrics:read'], 'to-delete');
    const token = await clientToken(account);
    const admin = await adminToken(api);
    const del = await api.request(`/service-accounts/${account.serviceAccountId}`, {
      method: 'DELETE',
      token: admin,
      body: { reason: 'Scraper retired' },
    });
    expect(del.status, del.text).toBe(204);
    expectError(await api.request('/metrics', { token }), 401, 'UNAUTHORIZED');
    expectError(await prometheusTokenRequest(account), 401, 'UNAUTHORIZED');
    const list = await api.request('/service-accounts', { token: admin });
    expect(list.status).toBe(200);
    const ids = (list.json as { items: { serviceAccountId: string }[] }).items.map((a) => a.serviceAccountId);
    expect(ids).not.toContain(account.serviceAccountId);
    expectError(
      await api.request(`/service-accounts/${account.serviceAccountId}`, {
        method: 'DELETE',
        token: admin,
        body: { reason: 'Twice' },
      }),
      404,
      'NOT_FOUND',
    );
    await expect
      .poll(async () => (await auditOf(account.serviceAccountId)).text, { timeout: 10_000 })
      .toContain('service-account.delete');
  });

  it('is no person: not in the user list, no password login, not an admin; only users:manage creates one', async () => {
    const account = await createServiceAccount(['metrics:read', 'reports:read'], 'not-a-person');
    const admin = await adminToken(api);
    const list = await api.request('/service-accounts', { token: admin });
    const listed = (list.json as { items: Record<string, unknown>[] }).items.find(
      (a) => a.serviceAccountId === account.serviceAccountId,
    );
    expect(listed).toMatchObject({ name: 'not-a-person', permissions: ['metrics:read', 'reports:read'] });
    expect(JSON.stringify(list.json)).not.toMatch(/clientSecret|secretHash|credentialId|crs_/);

    const users = await api.request('/users?limit=100', { token: admin });
    expect(users.text).not.toContain(account.serviceAccountId);
    expect(users.text).not.toContain('not-a-person');
    for (const username of ['not-a-person', account.clientId]) {
      const res = await api.request('/auth/login', {
        method: 'POST',
        body: { username, password: account.clientSecret },
        localAddress: '127.0.0.45',
      });
      expectError(res, 401, 'UNAUTHORIZED');
    }
    expectError(await api.request(`/users/${account.serviceAccountId}`, { token: admin }), 404, 'NOT_FOUND');

    const operator = await userWithRoles(api, ['operator']);
    expectError(
      await api.request('/service-accounts', {
        method: 'POST',
        token: operator.token,
        body: { name: 'x', permissions: ['metrics:read'], reason: 'not allowed' },
      }),
      403,
      'FORBIDDEN',
    );
    for (const permissions of [['users:manage'], ['charges:write'], [], ['metrics:read', 'metrics:read']]) {
      const res = await api.request('/service-accounts', {
        method: 'POST',
        token: admin,
        body: { name: 'too-much', permissions, reason: 'Asking for more' },
      });
      expectError(res, 422, 'VALIDATION_ERROR');
    }
  });

  it('limits token requests per source address as login does (429 with Retry-After)', async () => {
    const account = await createServiceAccount(['metrics:read']);
    const statuses: number[] = [];
    let last: ApiResponse | undefined;
    for (let i = 0; i < 22; i++) {
      last = await prometheusTokenRequest(account, '127.0.0.46');
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    const limited = expectError(last!, 429, 'RATE_LIMITED');
    expect(limited).toBeDefined();
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await prometheusTokenRequest(account, '127.0.0.47')).status).toBe(200);
  });

  it('counts logins refused with 423 as logins_total{outcome="locked"}', async () => {
    const admin = await adminToken(api);
    const locked = () => scrapeLocked(admin);
    const before = await locked();
    const victim = await userWithRoles(api, ['viewer']);
    const attempt = (password: string) =>
      api.request('/auth/login', {
        method: 'POST',
        body: { username: victim.username, password },
        localAddress: '127.0.0.48',
      });
    for (let i = 0; i < 5; i++) expectError(await attempt('wrong password here'), 401, 'UNAUTHORIZED');
    expectError(await attempt(ADMIN_PASSWORD), 423, 'ACCOUNT_LOCKED');
    expectError(await attempt(ADMIN_PASSWORD), 423, 'ACCOUNT_LOCKED');
    expect((await locked()) - before).toBe(2);
  });
});

async function scrapeLocked(token: string): Promise<number> {
  const res = await api.request('/metrics', { token });
  expect(res.status, res.text).toBe(200);
  const line = /^charge_records_logins_total\{[^}]*outcome="locked"[^}]*\} (\d+)/m.exec(res.text);
  return Number(line?.[1] ?? Number.NaN);
}
