import { expect } from 'vitest';
import type { ApiResponse } from './local-api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The headers every response carries, errors included. */
export function expectSecurityHeaders(res: ApiResponse): void {
  expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-request-id']).toBeTruthy();
  expect(res.headers.server).toBeUndefined();
  expect(res.headers['x-powered-by']).toBeUndefined();
}

/** The API's error shape with the given status and code; returns the error object for further checks. */
export function expectError(res: ApiResponse, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  const body = res.json as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  expect(body.error.id).toMatch(UUID);
  expect(new Date(body.error.timestamp as string).toISOString()).toBe(body.error.timestamp);
  // Details are included for 4xx (an empty object when there is nothing more to say).
  if (status < 500) expect(body.error.details, 'details on a 4xx').toBeDefined();
  expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
  expectSecurityHeaders(res);
  return body.error;
}
