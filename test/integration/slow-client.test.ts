import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientTimeouts } from '#local/client-timeouts';
import { createLocalServer } from '#local/server';

/** A client that trickles its request holds a connection only until the server's timeouts: then 408, and closed. */
let server: Server;
let port: number;

beforeAll(async () => {
  server = createLocalServer({ requestTimeoutMs: 800, headersTimeoutMs: 400 });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
});

/** Sends `head`, then `trickle` one byte every 100 ms; what the server answered and when the connection closed. */
function trickle(head: string, trickled: string) {
  return new Promise<{ answer: string; closedAfterMs: number }>((resolve) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < trickled.length && socket.writable) socket.write(trickled[i++] as string);
    }, 100);
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
    socket.write(head);
  });
}

describe('slow clients', () => {
  it('a body trickled a byte at a time is cut off with 408 at the request timeout', async () => {
    const body = JSON.stringify({ username: 'admin', password: 'x'.repeat(200) });
    const { answer, closedAfterMs } = await trickle(
      `POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":"BAD_REQUEST"');
    // 800 ms, checked once a second at most: far less than the 20 s the trickle would take.
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('headers trickled a byte at a time are cut off with 408 at the headers timeout', async () => {
    const { answer, closedAfterMs } = await trickle(
      'GET /status/health HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      `X-Slow: ${'y'.repeat(200)}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('by default: 30 s for a request, 10 s for its headers, checked every second', () => {
    expect(clientTimeouts()).toEqual({
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      connectionsCheckingInterval: 1000,
    });
  });
});
