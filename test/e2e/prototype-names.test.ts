import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '#test/support/assertions';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

/**
 * Header and query names that are also properties of every plain object: kept in plain objects, `__proto__` vanished
 * and the others collided with the inherited functions (`multi[k].push is not a function`, a 500 on every route,
 * before any token was looked at).
 */
const NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];

let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api?.stop());

describe.each(NAMES)('%s', (name) => {
  it('as a header: a public route answers as usual', async () => {
    const res = await api.request('/status/health', { headers: { [name]: '1' } });
    expect(res.status, res.text).toBe(200);
  });

  it('as a header: an authenticated route answers as usual, and still wants a token', async () => {
    const res = await api.request('/charges', { headers: { [name]: '1' }, token: admin });
    expect(res.status, res.text).toBe(200);
    expectError(await api.request('/charges', { headers: { [name]: '1' } }), 401, 'UNAUTHORIZED');
  });

  it('given twice as a header: still answered', async () => {
    const res = await api.request('/status/health', { headers: { [name]: ['1', '2'] as unknown as string } });
    expect(res.status, res.text).toBe(200);
  });

  it('as a query parameter: 400 naming it, on a public route', async () => {
    const error = expectError(await api.request(`/status/health?${name}=1`), 400, 'BAD_REQUEST');
    expect(error.details).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: [name] })]);
  });

  it('as a query parameter: 400 naming it on an authenticated route, 401 without a token', async () => {
    const error = expectError(await api.request(`/charges?${name}=1`, { token: admin }), 400, 'BAD_REQUEST');
    expect(error.details).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: [name] })]);
    expectError(await api.request(`/charges?${name}=1`), 401, 'UNAUTHORIZED');
  });

  it('given twice as a query parameter: 400 naming it as repeated', async () => {
    const error = expectError(await api.request(`/charges?${name}=1&${name}=2`, { token: admin }), 400, 'BAD_REQUEST');
    expect(error.details).toEqual([expect.objectContaining({ path: `query.${name}`, code: 'repeated' })]);
  });
});
