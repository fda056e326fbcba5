import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header, requestIdFor } from './headers';

/** The correlation id decided once per event by the HTTP middleware and read by the router. */
const ids = new WeakMap<object, string>();

export function assignRequestId(event: APIGatewayProxyEvent): string {
  const id = requestIdFor(header(event.headers, 'x-request-id'), event.requestContext?.requestId);
  ids.set(event, id);
  return id;
}

export function requestIdOf(event: APIGatewayProxyEvent): string {
  return ids.get(event) ?? assignRequestId(event);
}
