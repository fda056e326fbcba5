import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectSecurityHeaders } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

let api: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
});
afterAll(() => api.stop());

describe('public health routes', () => {
  it('GET /status/health answers without touching dependencies', async () => {
    const res = await api.request('/status/health');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      status: 'ok',
      version: expect.any(String),
      uptime: expect.any(Number),
      timestamp: expect.any(String),
    });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expectSecurityHeaders(res);
  });

  it('GET /status/health/liveness says alive', async () => {
    const res = await api.request('/status/health/liveness');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'alive' });
  });

  it('GET /status/health/readiness checks every table', async () => {
    const res = await api.request('/status/health/readiness');
    expect(res.status).toBe(200);
    const body = res.json as { status: string; checks: Record<string, { status: string }> };
    expect(body.status).toBe('ready');
    for (const table of ['charges', 'users', 'audit', 'auth-state', 'reports']) {
      expect(body.checks[`table:${table}`]?.status).toBe('ok');
    }
  });
});

describe('routing errors', () => {
  it('an unknown path is 401 for an anonymous caller, so it does not reveal whether the route exists', async () => {
    const res = await api.request('/definitely/not/a/route');
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('a garbage bearer token is still 401 on an unknown path', async () => {
    const res = await api.request('/nope', { token: 'not-a-jwt' });
    expectError(res, 401, 'UNAUTHORIZED');
  });

  it('an unknown path is 404 for an authenticated caller', async () => {
    const res = await api.request('/definitely/not/a/route', { token: await adminToken(api) });
    expectError(res, 404, 'NOT_FOUND');
  });

  it('a wrong method on a protected path is 405 with Allow for an authenticated caller (401 anonymously)', async () => {
    expectError(await api.request('/users', { method: 'PUT' }), 401, 'UNAUTHORIZED');
    const res = await api.request('/users', { method: 'PUT', token: await adminToken(api) });
    expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('POST, GET');
  });

  it('a wrong method on a public path is 405 with Allow', async () => {
    const res = await api.request('/status/health', { method: 'DELETE' });
    const error = expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('GET');
    expect(error.details).toEqual({ allowed: ['GET'] });
  });

  it('a request body above the gateway limit is refused with 413 before any handler runs', async () => {
    const res = await api.request('/status/health', {
      method: 'POST',
      rawBody: Buffer.alloc(11 * 1024 * 1024, 'a'),
      headers: { 'content-type': 'application/json' },
    });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('X-Request-ID', () => {
  it('echoes a sane caller-supplied id', async () => {
    const res = await api.request('/status/health', { headers: { 'X-Request-ID': 'client-abc.123:XYZ' } });
    expect(res.headers['x-request-id']).toBe('client-abc.123:XYZ');
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['log-injection characters', 'abc\tdef'],
    ['markup', '<script>'],
  ])('replaces an id that is %s with a fresh UUID', async (_why, value) => {
    const res = await api.request('/status/health', { headers: { 'X-Request-ID': value } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-request-id']).not.toBe(value);
  });

  it('generates a UUID when none is sent, distinct per request, and uses the same id on errors', async () => {
    const a = await api.request('/status/health');
    const b = await api.request('/status/health');
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    const err = await api.request('/status/health', { method: 'PUT', headers: { 'X-Request-ID': 'trace-405' } });
    expect(err.headers['x-request-id']).toBe('trace-405');
  });
});

describe('responses written in bursts', () => {
  it('pipelined requests on one connection get their own responses, in order, across routes and errors', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(api.url);
    const paths = ['/status/health', '/status/health/liveness', '/nope', '/status/health', '/status/health/liveness'];
    const raw = paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: x\r\nX-Request-ID: pipe-${i}\r\n\r\n`).join('');
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.write(raw);
    // A body ends without a newline, so the next status line follows it directly: match it anywhere.
    await expect.poll(() => received.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0, { timeout: 5000 }).toBe(paths.length);
    socket.destroy();
    const ids = [...received.matchAll(/^X-Request-ID: (.+)\r$/gm)].map((m) => m[1]);
    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(ids).toEqual(paths.map((_, i) => `pipe-${i}`));
    expect(statuses).toEqual([200, 200, 401, 200, 200]);
  });

  it('many concurrent requests each get the response to their own request', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api.request(i % 3 === 0 ? '/nope' : '/status/health/liveness', { headers: { 'X-Request-ID': `burst-${i}` } }),
      ),
    );
    results.forEach((res, i) => {
      expect(res.headers['x-request-id']).toBe(`burst-${i}`);
      expect(res.status).toBe(i % 3 === 0 ? 401 : 200);
    });
  });
});
