import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type ApiResponse, type LocalApi, startLocalApi } from '#test/support/local-api';
import { seedCharge } from '#test/support/charges';

/**
 * Requests at the edges of HTTP: path ids no server-issued id can match, bodies that are not UTF-8, an unknown
 * field (the only issue a 400 lists) and requests Node's parser refuses.
 */
let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api?.stop());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const charge = (articleId: string, extra: Record<string, unknown> = {}) => ({
  articleId,
  quantity: 1,
  unit: 'kg',
  productionDate: '2026-01-01',
  ...extra,
});
const chargesOf = async (articleId: string) => {
  const res = await api.request(`/charges?articleId=${encodeURIComponent(articleId)}`, { token: admin });
  expect(res.status, res.text).toBe(200);
  return (res.json as { items: unknown[] }).items;
};

describe('a path id no server-issued id can match is 404 before any table is asked', () => {
  // DynamoDB refuses a key over 2048 bytes (ValidationException): these must not become 500 INTERNAL_ERROR.
  const ids: Array<[string, string]> = [
    ['2049 × x', 'x'.repeat(2049)],
    ['683 × € (2049 bytes)', '€'.repeat(683)],
    ['129 characters', 'a'.repeat(129)],
    ['a control character', 'abc\u0001def'],
  ];
  const routes = [
    '/charges/{id}',
    '/users/{id}',
    '/reports/runs/{id}',
    '/charges/{id}/report.pdf',
    '/reports/definitions/{id}',
  ];

  for (const [name, id] of ids) {
    it.each(routes)(`GET %s with ${name}`, async (route) => {
      const res = await api.request(route.replace('{id}', encodeURIComponent(id)), { token: admin });
      expect(expectError(res, 404, 'NOT_FOUND').details).toEqual({});
    });
  }

  it('before the body and the precondition: PATCH and DELETE with an over-long id are 404 too', async () => {
    const path = `/charges/${'x'.repeat(2049)}`;
    expectError(
      await api.request(path, { method: 'PATCH', token: admin, body: { notes: 'x', reason: 'why not' } }),
      404,
      'NOT_FOUND',
    );
    expectError(
      await api.request(path, {
        method: 'DELETE',
        token: admin,
        headers: { 'if-match': '"1"' },
        body: { reason: 'gone now' },
      }),
      404,
      'NOT_FOUND',
    );
    expectError(await api.request(`/users/${'€'.repeat(683)}`, { method: 'DELETE', token: admin }), 404, 'NOT_FOUND');
  });

  it('anonymous callers still get 401: the id is looked at only after the caller is known', async () => {
    expectError(await api.request(`/charges/${'x'.repeat(2049)}`), 401, 'UNAUTHORIZED');
  });
});

describe('request bodies are JSON in UTF-8', () => {
  const post = (body: Buffer | string, contentType: string) =>
    api.request('/charges', { method: 'POST', token: admin, rawBody: body, headers: { 'content-type': contentType } });

  it.each(['iso-8859-1', 'latin1', 'utf-16', 'windows-1252', '"ISO-8859-1"'])(
    'charset=%s → 415, nothing written',
    async (charset) => {
      const articleId = `ENC-${randomUUID().slice(0, 8)}`;
      const latin1 = Buffer.from(JSON.stringify(charge(articleId, { notes: 'Müller' })), 'latin1');
      const error = expectError(
        await post(latin1, `application/json; charset=${charset}`),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      expect(error.message).toMatch(/UTF-8/);
      expect(await chargesOf(articleId)).toEqual([]);
    },
  );

  it.each([
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json; charset="utf-8"',
    'application/json',
  ])('%s is taken, and the text kept as sent', async (contentType) => {
    const res = await post(
      JSON.stringify(charge(`ENC-${randomUUID().slice(0, 8)}`, { notes: 'Müller €' })),
      contentType,
    );
    expect(res.status, res.text).toBe(201);
    expect((res.json as { notes: string }).notes).toBe('Müller €');
  });

  it.each([
    ['0xFF 0xFE', [0xff, 0xfe]],
    ['a Latin-1 ü', [0xfc]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ])('bytes that are not UTF-8 (%s) → 400, nothing written', async (_name, bytes) => {
    const articleId = `ENC-${randomUUID().slice(0, 8)}`;
    const [head, tail] = JSON.stringify(charge(articleId, { notes: 'A#B' })).split('#') as [string, string];
    const body = Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(tail)]);
    const error = expectError(await post(body, 'application/json'), 400, 'BAD_REQUEST');
    expect(error.message).toMatch(/UTF-8/);
    expect(await chargesOf(articleId)).toEqual([]);
  });

  it('a leading byte order mark is still malformed JSON (400), not silently dropped', async () => {
    const articleId = `ENC-${randomUUID().slice(0, 8)}`;
    expectError(await post(`\uFEFF${JSON.stringify(charge(articleId))}`, 'application/json'), 400, 'BAD_REQUEST');
    expect(await chargesOf(articleId)).toEqual([]);
  });
});

describe('an unknown field is the only issue a 400 lists', () => {
  it('PATCH /users/me {roles}: no "Nothing to change" next to the unknown key', async () => {
    const res = await api.request('/users/me', { method: 'PATCH', token: admin, body: { roles: ['admin'] } });
    const error = expectError(res, 400, 'BAD_REQUEST');
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'body', code: 'unrecognized_keys', keys: ['roles'] }),
    ]);
  });

  it('PATCH /charges/{id} with only a reason and an immutable field', async () => {
    const { chargeId } = await seedCharge(api, admin, charge('EDGE-PATCH'));
    const res = await api.request(`/charges/${chargeId}`, {
      method: 'PATCH',
      token: admin,
      headers: { 'if-match': '"1"' },
      body: { version: 7, reason: 'sneaky edit' },
    });
    expect(expectError(res, 400, 'BAD_REQUEST').details).toEqual([
      expect.objectContaining({ path: 'body', code: 'unrecognized_keys', keys: ['version'] }),
    ]);
  });

  it('without an unknown field the refinement still speaks: 422 "Nothing to change"', async () => {
    const res = await api.request('/users/me', { method: 'PATCH', token: admin, body: {} });
    expect(JSON.stringify(expectError(res, 422, 'VALIDATION_ERROR').details)).toMatch(/Nothing to change/);
  });
});

/** Writes raw bytes, reads until the server closes the connection, and parses every response in what came back. */
function rawExchange(request: string): Promise<ApiResponse[]> {
  const { hostname, port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseResponses(Buffer.concat(chunks).toString('utf8'))));
    socket.write(request);
  });
}

function parseResponses(text: string): ApiResponse[] {
  const responses: ApiResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) throw new Error(`incomplete response: ${rest}`);
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines)
      headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
    const length = Number(headers['content-length'] ?? 0);
    const bodyBytes = Buffer.from(rest.slice(end + 4), 'utf8');
    const body = bodyBytes.subarray(0, length).toString('utf8');
    rest = bodyBytes.subarray(length).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, text: body, json });
  }
  return responses;
}

describe("requests Node's parser refuses get the API's error shape", () => {
  it.each([
    ['a request line over 16 KB → 431', `GET /status/health?${'a'.repeat(20_000)}=1 HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    [
      'a header over 16 KB → 431',
      `GET /status/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    ['a header line without a colon → 400', 'GET /status/health HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n', 400],
    ['Content-Length: abc → 400', 'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400],
    [
      'Content-Length and Transfer-Encoding together → 400',
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    ['a malformed request line → 400', 'GET /status/health HTTP/9.Z\r\nHost: x\r\n\r\n', 400],
    // The body breaks after valid headers: the request being answered is the broken one, and is answered at once.
    [
      'a bad chunk size in the body → 400',
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      400,
    ],
  ])('%s, with security headers, a fresh X-Request-ID and Connection: close', async (_name, request, status) => {
    const [res, ...more] = await rawExchange(request);
    expect(more).toEqual([]);
    if (!res) throw new Error('no response');
    const error = expectError(res, status, 'BAD_REQUEST');
    expect(error.details).toEqual({ reason: expect.stringMatching(/^HPE_/) });
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('a response still owed on the connection goes out first, then the error', async () => {
    const responses = await rawExchange(
      'GET /status/health HTTP/1.1\r\nHost: x\r\n\r\nGET /status/health HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n',
    );
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(responses[0]?.json).toMatchObject({ status: expect.any(String) });
    expectError(responses[1] as ApiResponse, 400, 'BAD_REQUEST');
  });
});
