import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { AppError, asError, isAppError } from '../errors';
import { logger } from '../powertools';
import { JSON_CONTENT_TYPE, SECURITY_HEADERS } from './headers';

export interface ErrorBody {
  [field: string]: unknown;
  error: { id: string; code: string; message: string; timestamp: string; details?: unknown };
}

/**
 * Turns any failure into the spec's error shape and logs it once with the same `id`.
 * Client errors keep their `details`; anything unexpected becomes a 500 whose message and stack stay
 * in the log (DEBUG adds the message to the response, never the stack).
 */
export function errorResponse(err: unknown, requestId: string, debug = false): APIGatewayProxyResult {
  const id = randomUUID();
  const known: AppError = isAppError(err)
    ? err
    : new AppError('INTERNAL_ERROR', 'An unexpected error occurred', {
        details: debug ? { message: asError(err).message } : undefined,
      });
  const body: ErrorBody = {
    ...known.body,
    error: { id, code: known.code, message: known.message, timestamp: new Date().toISOString() },
  };
  // An AppError's details were written for the client; an unexpected error's only show with DEBUG.
  if (known.details !== undefined && (isAppError(err) || debug)) body.error.details = known.details;

  const logAttributes = { error_id: id, code: known.code, status: known.status, request_id: requestId };
  if (known.status >= 500) logger.error(known.message, { ...logAttributes, error: asError(err) });
  else logger.info(known.message, logAttributes);

  return {
    statusCode: known.status,
    headers: { ...SECURITY_HEADERS, 'Content-Type': JSON_CONTENT_TYPE, 'X-Request-ID': requestId, ...known.headers },
    body: JSON.stringify(body),
  };
}
