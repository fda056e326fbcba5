import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { AppError, UNAVAILABLE_RETRY_AFTER_SECONDS, unavailable } from '#platform/errors';
import { errorResponse, isDependencyUnavailable, isKeyTooLarge } from '#platform/http/error-response';

/** A Node socket error as the SDK's HTTP handler rethrows it (after its retries), with `$metadata` added. */
function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:8000`), {
    code,
    errno: -111,
    syscall: 'connect',
    $metadata: { attempts: 3, totalRetryDelay: 95 },
  });
}

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });
const metadata = { httpStatusCode: 400, $metadata: {} };

describe('isDependencyUnavailable: an outage, not a bug', () => {
  it.each([
    ['ECONNREFUSED (DynamoDB down)', socketError('ECONNREFUSED')],
    ['ECONNRESET (socket hang up)', socketError('ECONNRESET')],
    ['ETIMEDOUT', socketError('ETIMEDOUT')],
    ['ENOTFOUND (DNS)', socketError('ENOTFOUND')],
    ['EPIPE', socketError('EPIPE')],
    ['an SDK TimeoutError (connection or request timeout)', named('TimeoutError')],
    [
      'DynamoDB ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'throughput', $metadata: {} }),
    ],
    ['DynamoDB RequestLimitExceeded', new RequestLimitExceeded({ message: 'account limit', $metadata: {} })],
    ['DynamoDB InternalServerError', new InternalServerError({ message: 'oops', $metadata: {} })],
    ['a ThrottlingException (KMS, Secrets Manager)', named('ThrottlingException', { $fault: 'client' })],
    ['a ServiceUnavailable (S3)', named('ServiceUnavailable')],
    ['any AWS 5xx ($fault: server)', named('SomethingNew', { $fault: 'server' })],
    ['an HTTP 503 in $metadata', named('Unknown', { $metadata: { httpStatusCode: 503 } })],
    ['an HTTP 429 in $metadata', named('Unknown', { $metadata: { httpStatusCode: 429 } })],
    [
      "an AggregateError of Node's connect to several addresses",
      Object.assign(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''), {
        code: 'ECONNREFUSED',
      }),
    ],
    [
      'an AggregateError without a code of its own',
      new AggregateError([new Error('x'), socketError('EHOSTUNREACH')], ''),
    ],
    ['a wrapped cause', new Error('BatchGetItem failed', { cause: socketError('ECONNREFUSED') })],
  ])('%s → unavailable', (_name, err) => {
    expect(isDependencyUnavailable(err)).toBe(true);
  });

  it.each([
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a DynamoDB ValidationException (our request is wrong)', named('ValidationException', metadata)],
    ['a failed condition', new ConditionalCheckFailedException({ message: 'no', $metadata: {} })],
    [
      'AccessDeniedException (IAM)',
      named('AccessDeniedException', { $fault: 'client', $metadata: { httpStatusCode: 400 } }),
    ],
    [
      'ResourceNotFoundException (a missing table is a deployment bug)',
      named('ResourceNotFoundException', { $fault: 'client' }),
    ],
    ['an AppError (already a client answer)', new AppError('CONFLICT', 'no', { cause: socketError('ECONNREFUSED') })],
    ['not an error at all', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('%s → not unavailable', (_name, err) => {
    expect(isDependencyUnavailable(err)).toBe(false);
  });

  it('stops on a cause cycle', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDependencyUnavailable(a)).toBe(false);
  });
});

describe('errorResponse', () => {
  const parse = (body: string) =>
    JSON.parse(body) as { error: { id: string; code: string; message: string; details?: unknown } };

  it('answers a dependency outage with 503 UNAVAILABLE and Retry-After, in the error shape', () => {
    const res = errorResponse(socketError('ECONNREFUSED'), 'req-1');
    expect(res.statusCode).toBe(503);
    expect(res.headers).toMatchObject({
      'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS),
      'X-Request-ID': 'req-1',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
    const { error } = parse(res.body);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/temporarily unavailable/) });
    expect(error.details).toBeUndefined();
    expect(res.body).not.toContain('127.0.0.1');
  });

  it('adds only the message with DEBUG, as for a 500', () => {
    const { error } = parse(errorResponse(named('ThrottlingException'), 'req-2', true).body);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', details: { message: 'ThrottlingException' } });
  });

  it('keeps a bug a 500 INTERNAL_ERROR without Retry-After', () => {
    const res = errorResponse(new TypeError('boom'), 'req-3');
    expect(res.statusCode).toBe(500);
    expect(res.headers?.['Retry-After']).toBeUndefined();
    expect(parse(res.body).error.code).toBe('INTERNAL_ERROR');
  });

  it('passes an explicit UNAVAILABLE through with its Retry-After', () => {
    const res = errorResponse(unavailable(), 'req-4');
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['Retry-After']).toBe(String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  });
});

describe('errorResponse: a key too large to exist (safety net behind the router)', () => {
  const parse = (body: string) => JSON.parse(body) as { error: { code: string; details?: unknown } };

  it.each([
    // DynamoDB Local on GetItem, PutItem, UpdateItem and DeleteItem (checked against the jar), and AWS's GetItem.
    'Hash primary key values must be under 2048 bytes, and range primary key values must be under 1024 bytes',
    // AWS on writes (sic: "of2048").
    'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
    'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
  ])('%s → 404 NOT_FOUND with details {}, never a 500', (message) => {
    const err = named('ValidationException', { ...metadata, message, $fault: 'client' });
    expect(isKeyTooLarge(err)).toBe(true);
    const res = errorResponse(err, 'req-5');
    expect(res.statusCode).toBe(404);
    expect(parse(res.body).error).toMatchObject({ code: 'NOT_FOUND', details: {} });
    expect(res.body).not.toContain('2048');
  });

  it('any other ValidationException is still our bug: 500', () => {
    const err = named('ValidationException', { ...metadata, message: 'ExpressionAttributeValues must not be empty' });
    expect(isKeyTooLarge(err)).toBe(false);
    expect(errorResponse(err, 'req-6').statusCode).toBe(500);
  });

  it('the message alone is not enough: it must be a ValidationException', () => {
    const err = new Error('Hash primary key values must be under 2048 bytes');
    expect(isKeyTooLarge(err)).toBe(false);
    expect(errorResponse(err, 'req-7').statusCode).toBe(500);
  });
});
