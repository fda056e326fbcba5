import { describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '#platform/http/headers';
import { checkResponse, ContractViolation, type ReceivedResponse } from '#test/support/openapi-contract';

/** The checker the e2e tests run on every answer: it must refuse what the document does not say. */

const everyAnswer = Object.fromEntries([
  ['x-request-id', 'r-1'],
  ...Object.entries(SECURITY_HEADERS).map(([name, value]) => [name.toLowerCase(), value]),
]);
const rate = { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'x-ratelimit-reset': '1790000000' };
const liveness = (over: Partial<ReceivedResponse>): ReceivedResponse => ({
  method: 'GET',
  target: '/status/health/liveness',
  status: 200,
  headers: { ...everyAnswer, 'content-type': 'application/json; charset=utf-8' },
  text: '{"status":"alive"}',
  json: { status: 'alive' },
  ...over,
});

describe('checkResponse', () => {
  it('accepts an answer as documented', () => {
    expect(() => checkResponse(liveness({}))).not.toThrow();
  });

  it('refuses a status the route does not list', () => {
    expect(() => checkResponse(liveness({ status: 418 }))).toThrow(/answered 418, which the document does not list/);
  });

  it('refuses a body of another shape, and unknown fields', () => {
    expect(() => checkResponse(liveness({ json: { status: 'dead' } }))).toThrow(ContractViolation);
    expect(() => checkResponse(liveness({ json: { status: 'alive', leaked: 1 } }))).toThrow(/additional/);
  });

  it('refuses a missing required header, and another media type', () => {
    const { 'x-request-id': _id, ...withoutId } = everyAnswer;
    expect(() => checkResponse(liveness({ headers: { ...withoutId, 'content-type': 'application/json' } }))).toThrow(
      /X-Request-ID is missing/,
    );
    expect(() => checkResponse(liveness({ headers: { ...everyAnswer, 'content-type': 'text/plain' } }))).toThrow(
      /Content-Type text\/plain/,
    );
  });

  it('checks the headers of an authenticated answer: the rate limit, the ETag of a charge', () => {
    const charge = {
      chargeId: '6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21',
      articleId: 'A',
      quantity: 1,
      unit: 'kg',
      productionDate: '2026-05-02',
      status: 'in_production',
      version: 1,
      createdAt: '2026-05-02T10:00:00.000Z',
      createdBy: { userId: 'u', username: 'n' },
      updatedAt: '2026-05-02T10:00:00.000Z',
      updatedBy: { userId: 'u', username: 'n' },
    };
    const read = (headers: Record<string, string>): ReceivedResponse => ({
      method: 'GET',
      target: '/charges/6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21',
      status: 200,
      headers: { ...everyAnswer, 'content-type': 'application/json; charset=utf-8', ...headers },
      text: JSON.stringify(charge),
      json: charge,
    });
    expect(() => checkResponse(read({ ...rate, etag: '"1"' }))).not.toThrow();
    expect(() => checkResponse(read(rate))).toThrow(/ETag is missing/);
    expect(() => checkResponse(read({ etag: '"1"' }))).toThrow(/X-RateLimit-Limit is missing/);
  });

  it('checks a request no operation serves against the unmatched answers', () => {
    const unknown = (status: number): ReceivedResponse => ({
      method: 'GET',
      target: '/no/such/route?x=1',
      status,
      headers: { ...everyAnswer, 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
      text: '',
      json: {
        error: {
          id: 'e',
          code: status === 401 ? 'UNAUTHORIZED' : 'NOT_FOUND',
          message: 'm',
          timestamp: 't',
          details: {},
        },
      },
    });
    expect(() => checkResponse(unknown(401))).not.toThrow();
    expect(() => checkResponse(unknown(404))).not.toThrow();
    expect(() => checkResponse(unknown(200))).toThrow(/unknown path/);
    expect(() => checkResponse({ ...unknown(405), target: '/charges', method: 'PUT' })).toThrow(
      /header Allow is missing/,
    );
  });
});
