import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureTables } from '#local/tables';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { jsonLines } from '#test/support/stdout';

// The suite runs with LOG_LEVEL=SILENT; error lines are read here. Set before any import creates the logger.
vi.hoisted(() => {
  vi.stubEnv('LOG_LEVEL', 'ERROR');
});

/** The local server's own lines: one per answered request. */
const lines: string[] = [];
let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi({ log: (line) => lines.push(line) });
  admin = await adminToken(api);
});
afterAll(async () => {
  await api?.stop();
  vi.unstubAllEnvs();
});

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('one line per request on stdout', () => {
  it('method, path (without the query), status, milliseconds and request id', async () => {
    const from = lines.length;
    await api.request('/status/health');
    await api.request('/charges?status=released&limit=5', { token: admin, headers: { 'X-Request-ID': 'op-line-1' } });
    await api.request('/charges');
    await api.request('/nowhere', { method: 'DELETE', token: admin });
    const written = lines.slice(from);
    expect(written).toHaveLength(4);
    expect(written[0]).toMatch(new RegExp(`^GET /status/health 200 \\d+\\.\\d ms ${UUID}$`));
    expect(written[1]).toMatch(/^GET \/charges 200 \d+\.\d ms op-line-1$/);
    expect(written[2]).toMatch(new RegExp(`^GET /charges 401 \\d+\\.\\d ms ${UUID}$`));
    expect(written[3]).toMatch(new RegExp(`^DELETE /nowhere 404 \\d+\\.\\d ms ${UUID}$`));
  });

  it('a path that would break the line is the normalised one, percent-encoded', async () => {
    const from = lines.length;
    await api.request('/status/health%0a%1b[31mFAKE 200');
    expect(lines.slice(from)).toHaveLength(1);
    // eslint-disable-next-line no-control-regex -- a control character in the line is what must not happen
    expect(lines[from]).not.toMatch(/[\n\r\x1b]/);
  });
});

describe('error log lines name the request', () => {
  it('method, path, user id and source address', async () => {
    const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, region: 'eu-central-1' });
    const prefix = process.env.TABLE_PREFIX as string;
    const me = (await api.request('/users/me', { token: admin })).json as { userId: string };
    await client.send(new DeleteTableCommand({ TableName: `${prefix}charges` }));
    // Powertools writes ERROR lines to stderr.
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    let res: Awaited<ReturnType<LocalApi['request']>> | undefined;
    try {
      res = await api.request('/charges?limit=1', { token: admin, localAddress: '127.0.0.9' });
    } finally {
      spy.mockRestore();
      await ensureTables(client, prefix);
      client.destroy();
    }
    expect(res?.status, res?.text).toBeGreaterThanOrEqual(500);
    const id = (res?.json as { error: { id: string } }).error.id;
    const line = jsonLines(stderr.join('')).find((l) => l.error_id === id);
    expect(line, stderr.join('')).toMatchObject({
      level: 'ERROR',
      http_method: 'GET',
      path: '/charges',
      user_id: me.userId,
      source_ip: '127.0.0.9',
    });
  });
});
