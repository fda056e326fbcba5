import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from './headers';

/** The base URL the caller used: scheme from X-Forwarded-Proto (API Gateway sets it), host, and any stage prefix. */
export function publicBaseUrl(event: APIGatewayProxyEvent): string {
  const proto = header(event.headers, 'x-forwarded-proto') ?? 'http';
  const host = header(event.headers, 'host') ?? event.requestContext.domainName ?? 'localhost';
  const fullPath = event.requestContext.path ?? event.path;
  const prefix = fullPath.endsWith(event.path) ? fullPath.slice(0, fullPath.length - event.path.length) : '';
  return `${proto}://${host}${prefix}`;
}
