import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { AppError, asError, isAppError, notFound, unavailable } from '#platform/errors';
import { logger } from '#platform/powertools';
import { JSON_CONTENT_TYPE, SECURITY_HEADERS } from './headers';

export interface ErrorBody {
  [field: string]: unknown;
  error: { id: string; code: string; message: string; timestamp: string; details?: unknown };
}

/** Socket-level failures (Node's `code`): the service could not be reached or the connection broke. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * AWS error names (`err.name`, the service's error code) that mean "not now", not "never": SDK timeouts,
 * throttling of any service we call (DynamoDB, KMS, Secrets Manager, S3, SES, Scheduler) and service-side faults.
 */
const UNAVAILABLE_ERROR_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalServiceError',
  'InternalFailure',
  'InternalError',
  'KMSInternalException',
  'DependencyTimeoutException',
]);

/** The parts of an SDK or Node error this classification reads. */
interface ErrorTraits {
  name?: unknown;
  code?: unknown;
  /** Set by the AWS SDK on service errors: `server` for a 5xx. */
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  /** Set by the AWS SDK on errors it considers retryable (throttling among them). */
  $retryable?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Whether a failure is an outage of a dependency (SDK network error, timeout, throttling, AWS 5xx) rather
 * than a bug: the one classification behind every 503 `UNAVAILABLE` a handler or the local authorizer path
 * answers. Follows `cause` chains and an `AggregateError`'s errors (Node's connect to several addresses).
 */
export function isDependencyUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5 || isAppError(err)) return false;
  const e = err as ErrorTraits;
  if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && UNAVAILABLE_ERROR_NAMES.has(e.name)) return true;
  if (e.$fault === 'server' || e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDependencyUnavailable(inner, depth + 1))) return true;
  return e.cause !== undefined && isDependencyUnavailable(e.cause, depth + 1);
}

/**
 * DynamoDB's refusal of a key value too large to exist ("Hash primary key values must be under 2048 bytes…",
 * "Size of hashkey has exceeded the maximum size limit…"): the router already answers over-long path ids with
 * 404, so this is a safety net for any other way a client's value reaches a key.
 */
const KEY_TOO_LARGE =
  /key values must be under \d+ bytes|size of (?:hash ?key|range ?key|all range keys) has exceeded/i;

export function isKeyTooLarge(err: unknown): boolean {
  return err instanceof Error && err.name === 'ValidationException' && KEY_TOO_LARGE.test(err.message);
}

/**
 * Turns any failure into the API's error shape and logs it once with the same `id`.
 * Client errors keep their `details`; a dependency outage (`isDependencyUnavailable`) is a 503 `UNAVAILABLE`
 * with `Retry-After`; anything else unexpected becomes a 500. Either way the message and stack stay in the
 * log (DEBUG adds the message to the response, never the stack).
 */
export function errorResponse(err: unknown, requestId: string, debug = false): APIGatewayProxyResult {
  const id = randomUUID();
  const debugDetails = debug ? { message: asError(err).message } : undefined;
  // A key no item can have names nothing that exists: 404, the answer the router gives the same id (and DynamoDB
  // Local gives a Query on it). A client's value, not a fault of ours, so never a 500 that pages someone.
  const known: AppError = isAppError(err)
    ? err
    : isKeyTooLarge(err)
      ? notFound()
      : isDependencyUnavailable(err)
        ? unavailable(undefined, { details: debugDetails, cause: err })
        : new AppError('INTERNAL_ERROR', 'An unexpected error occurred', { details: debugDetails });
  const body: ErrorBody = {
    ...known.body,
    error: { id, code: known.code, message: known.message, timestamp: new Date().toISOString() },
  };
  // An AppError's details were written for the client; an unexpected error's only show with DEBUG.
  if (known.details !== undefined && (isAppError(err) || debug)) body.error.details = known.details;
  // Every 4xx carries details: an empty object where the code and message say it all.
  else if (known.status < 500) body.error.details = {};

  const logAttributes = { error_id: id, code: known.code, status: known.status, request_id: requestId };
  if (known.status >= 500) logger.error(known.message, { ...logAttributes, error: asError(err) });
  // A 4xx made from an SDK error means a check upstream let the value through: worth a warning, with the cause.
  else if (!isAppError(err)) logger.warn(known.message, { ...logAttributes, error: asError(err) });
  else logger.info(known.message, logAttributes);

  return {
    statusCode: known.status,
    headers: Object.assign(
      {},
      SECURITY_HEADERS,
      { 'Content-Type': JSON_CONTENT_TYPE, 'X-Request-ID': requestId },
      known.headers,
    ),
    body: JSON.stringify(body),
  };
}
