import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '#local/server';

// The local server writes handler results at the end of the event-loop turn; a result Node cannot write
// must not take the process down (as an unhandled rejection) or leave the client hanging.
const results: Record<string, APIGatewayProxyResult> = {
  '/good': {
    statusCode: 201,
    headers: { 'Content-Type': 'text/plain', 'X-Multi': 'one' },
    multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
    body: 'fine',
  },
  '/bad-header': {
    statusCode: 200,
    headers: { 'X-Request-ID': 'req-7', 'X-Injected': 'a\r\nSet-Cookie: evil=1' },
    body: 'never sent',
  },
  '/overrides': {
    statusCode: 200,
    headers: { 'content-length': '999', 'X-Both': 'single' },
    multiValueHeaders: { 'X-Both': ['m1', 'm2'] },
    body: 'ok',
  },
  '/binary': {
    statusCode: 200,
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.from([0, 1, 2, 255]).toString('base64'),
    isBase64Encoded: true,
  },
};

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((req, res) => send(res, results[req.url ?? ''] as APIGatewayProxyResult));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

function get(path: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; raw: string[]; body: Buffer }>(
    (resolve, reject) => {
      request({ port, path, host: '127.0.0.1' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            raw: res.rawHeaders,
            body: Buffer.concat(chunks),
          }),
        );
      })
        .on('error', reject)
        .end();
    },
  );
}

describe('local server response writing', () => {
  it('writes status, single and multi-value headers, and an exact Content-Length', async () => {
    const res = await get('/good');
    expect(res.status).toBe(201);
    expect(res.headers['x-multi']).toBe('one');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['content-length']).toBe('4');
    expect(res.body.toString()).toBe('fine');
  });

  it('sends one Content-Length, its own, whatever the handler claimed; a name in both maps carries its multi-values only', async () => {
    const res = await get('/overrides');
    const names = res.raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === 'content-length')).toHaveLength(1);
    expect(res.headers['content-length']).toBe('2');
    expect(res.raw.filter((v, i) => i % 2 === 1 && /^(single|m1|m2)$/.test(v))).toEqual(['m1', 'm2']);
    expect(res.body.toString()).toBe('ok');
  });

  it('decodes a base64 result into the bytes it stands for', async () => {
    const res = await get('/binary');
    expect([...res.body]).toEqual([0, 1, 2, 255]);
    expect(res.headers['content-length']).toBe('4');
  });

  it('a header value with CR/LF becomes a 500 in the error shape, not a split response; the results written with it are unharmed', async () => {
    const [bad, good] = await Promise.all([get('/bad-header'), get('/good')]);
    expect(bad.status).toBe(500);
    expect(bad.headers['set-cookie']).toBeUndefined();
    expect(bad.headers['x-request-id']).toBe('req-7');
    expect(bad.headers['x-content-type-options']).toBe('nosniff');
    const body = JSON.parse(bad.body.toString()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INTERNAL_ERROR');
    expect(bad.body.toString()).not.toContain('never sent');
    expect(good.status).toBe(201);
  });
});
