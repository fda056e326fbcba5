import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header, requestIdFor, saneRequestId } from './headers';

/**
 * The ids decided once per event by the HTTP middleware and read by the router. Kept on the event under
 * symbols: invisible to JSON and key walks, and (measured) a tenth of a WeakMap's cost, whose entries for
 * short-lived keys the garbage collector has to trace separately.
 */
const REQUEST_ID = Symbol('requestId');
const SERVER_REQUEST_ID = Symbol('serverRequestId');

type Tagged = APIGatewayProxyEvent & { [REQUEST_ID]?: string; [SERVER_REQUEST_ID]?: string };

/** The correlation id of logs and the `X-Request-ID` answered: the caller's sane id, else the server's. */
export function assignRequestId(event: APIGatewayProxyEvent): string {
  const id = requestIdFor(header(event.headers, 'x-request-id'), serverRequestIdOf(event));
  (event as Tagged)[REQUEST_ID] = id;
  return id;
}

export function requestIdOf(event: APIGatewayProxyEvent): string {
  return (event as Tagged)[REQUEST_ID] ?? assignRequestId(event);
}

/** The server's own id of the request (API Gateway's, else a new UUID): never taken from the caller. */
export function serverRequestIdOf(event: APIGatewayProxyEvent): string {
  const tagged = event as Tagged;
  return (tagged[SERVER_REQUEST_ID] ??= saneRequestId(event.requestContext?.requestId) ?? randomUUID());
}

/** The caller's `X-Request-ID`, when sane: theirs to correlate with, never evidence of anything. */
export function correlationIdOf(event: APIGatewayProxyEvent): string | undefined {
  return saneRequestId(header(event.headers, 'x-request-id'));
}
