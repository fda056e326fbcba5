import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '#platform/errors';
import { expectError } from '#test/support/assertions';
import { ADMIN_PASSWORD, adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

/**
 * With its own DynamoDB unreachable the API answers 503 UNAVAILABLE, not 500 INTERNAL_ERROR — from the
 * authorizer (which fails closed) on every authenticated route, and from handlers such as login. This file's server reaches DynamoDB Local through a TCP relay that the
 * test closes: new connections are then refused (ECONNREFUSED), as when DynamoDB is down.
 */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: URL) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.port, '127.0.0.1', () => ok());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening and cuts every open connection: the port refuses from now on. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }
}

let api: LocalApi;
let relay: Relay;
let token: string;

beforeAll(async () => {
  relay = new Relay(new URL(process.env.DYNAMODB_ENDPOINT as string));
  await relay.open();
  // Read by startLocalApi and, through config(), by every handler's DynamoDB client in this file's process.
  vi.stubEnv('DYNAMODB_ENDPOINT', `http://127.0.0.1:${relay.port}`);
  api = await startLocalApi();
  token = await adminToken(api);
  expect((await api.request('/users/me', { token })).status).toBe(200);
  await relay.close();
});

afterAll(async () => {
  // Back up on the same port, so the runtime's stream poller stops cleanly.
  await relay?.open();
  await api?.stop();
  await relay?.close();
  vi.unstubAllEnvs();
});

/** 503 UNAVAILABLE in the API's error shape, with Retry-After — and quickly: the SDK's few retries, not a hang. */
async function expectUnavailable(path: string, options: Parameters<LocalApi['request']>[1]) {
  const started = performance.now();
  const res = await api.request(path, options);
  const elapsed = performance.now() - started;
  const error = expectError(res, 503, 'UNAVAILABLE');
  expect(error.message).toMatch(/temporarily unavailable/);
  expect(error.details).toBeUndefined();
  expect(res.headers['retry-after']).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  // Generous for a busy 2-core machine; an outage that hung until a timeout would take far longer.
  expect(elapsed).toBeLessThan(5000);
}

describe('own DynamoDB unreachable', () => {
  it('an authenticated route is 503 UNAVAILABLE with Retry-After (the authorizer cannot check the caller)', async () => {
    await expectUnavailable('/users/me', { token });
    await expectUnavailable('/status/health/detailed', { token });
  });

  it('login is 503 UNAVAILABLE with Retry-After (the handler cannot read the user)', async () => {
    await expectUnavailable('/auth/login', { method: 'POST', body: { username: 'admin', password: ADMIN_PASSWORD } });
  });

  it('readiness names the failing tables; liveness, which calls nothing, is still 200', async () => {
    const readiness = await api.request('/status/health/readiness');
    const error = expectError(readiness, 503, 'UNAVAILABLE');
    expect((await api.request('/status/health/liveness')).status).toBe(200);

    // The route is public, so each failing check gives a status and a coarse reason, never the
    // dependency's message (in AWS it names account, role and table); and the 503 says when to come back.
    expect(readiness.headers['retry-after']).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    expect(readiness.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|"error":"/);
    const body = readiness.json as { status: string; checks: Record<string, unknown> };
    expect(body.status).toBe('not_ready');
    for (const id of ['charges', 'users', 'audit', 'auth-state', 'reports']) {
      expect(body.checks[`table:${id}`], id).toEqual({
        status: 'unhealthy',
        responseTimeMs: expect.any(Number),
        reason: 'unreachable',
      });
    }
    expect((error.details as { checks: Record<string, unknown> }).checks['table:users']).toEqual(
      body.checks['table:users'],
    );
  });

  it('an anonymous caller still gets 401, not 503: no token is checked against the database', async () => {
    expectError(await api.request('/users/me'), 401, 'UNAUTHORIZED');
  });
});
