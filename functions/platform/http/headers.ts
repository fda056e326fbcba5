import { randomUUID } from 'node:crypto';

/** On every API response, errors included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * A caller's `X-Request-ID` is kept only when it is "sane": short, and made of characters that can
 * neither split a log line nor smuggle markup into a log viewer.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function saneRequestId(value: string | undefined | null): string | undefined {
  return value && SANE_REQUEST_ID.test(value) ? value : undefined;
}

/** The correlation id of a request: the caller's sane id, else API Gateway's request id, else a new UUID. */
export function requestIdFor(headerValue: string | undefined, gatewayRequestId?: string): string {
  return saneRequestId(headerValue) ?? saneRequestId(gatewayRequestId) ?? randomUUID();
}

/** Header lookup that ignores case, as HTTP does (API Gateway passes header names as the client sent them). */
export function header(headers: Record<string, string | undefined> | null | undefined, name: string) {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  // Runs several times per request: no entries array, and only same-length keys are lower-cased.
  for (const key in headers) if (key.length === wanted.length && key.toLowerCase() === wanted) return headers[key];
  return undefined;
}
