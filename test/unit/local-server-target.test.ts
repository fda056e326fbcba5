import { describe, expect, it } from 'vitest';
import { parseTarget } from '#local/server';

// The local server skips WHATWG URL parsing for plain paths; for every target it must see what URL sees.
const TARGETS = [
  '/',
  '/status/health',
  '/charges/',
  '/charges/abc_DEF-123?limit=5&cursor=eyJ9&status=',
  '/reports/charges.csv?lang=en',
  '/.well-known/jwks.json',
  '/charges/a%2Fb',
  '/users/%C5%81%C3%B3d%C5%BA',
  '/charges/../admin/keys/rotate',
  '/charges/%2e%2e/admin',
  '/charges/%2E/x',
  '/a/./b',
  '//double//slash',
  '/back\\slash',
  '/with space',
  '/quote"and<angle>',
  '/hash#fragment?not=query',
  '/q?a=1&a=2&b=%20x+y',
  '/q?',
];

describe('parseTarget (the local server’s request-target split)', () => {
  it.each(TARGETS)('%s → the same path and query as WHATWG URL', (target) => {
    const url = new URL(target, 'http://localhost');
    const parsed = parseTarget(target);
    expect(parsed.pathname).toBe(url.pathname);
    expect([...(parsed.search ?? new URLSearchParams())]).toEqual([...url.searchParams]);
  });
});
