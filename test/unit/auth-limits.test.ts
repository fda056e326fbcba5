import { describe, expect, it } from 'vitest';
import { slidingEstimate } from '#auth/counters';
import { addressKey } from '#auth/login-guard';

/**
 * The arithmetic behind the rate limits and the lockout's address key, without DynamoDB (the e2e tests
 * rate-limit and auth-login drive the same code through HTTP).
 */

const W = 60;
const LIMIT = 20;
const START = 1_800_000_000 - (1_800_000_000 % W);

describe('slidingEstimate', () => {
  it('a fresh window counts like a fixed one: LIMIT pass, the next is refused', () => {
    // Prepare / Act
    const last = slidingEstimate({ windowStart: START, current: LIMIT, previous: 0 }, W, LIMIT, START + 5);
    const over = slidingEstimate({ windowStart: START, current: LIMIT + 1, previous: 0 }, W, LIMIT, START + 5);
    // Assess
    expect(last).toEqual({ limit: LIMIT, remaining: 0, exceeded: false, resetAt: START + W });
    expect(over.exceeded).toBe(true);
  });

  it('a burst across the boundary: right after it, a full last window leaves (almost) nothing', () => {
    for (let elapsed = 0; elapsed < W; elapsed++) {
      // How many requests fit `elapsed` seconds into the window after a full one?
      let fits = 0;
      while (
        !slidingEstimate({ windowStart: START, current: fits + 1, previous: LIMIT }, W, LIMIT, START + elapsed).exceeded
      )
        fits++;
      // At most LIMIT × elapsed / W more than the LIMIT of the last minute: never 2 × LIMIT within seconds.
      expect(fits, `at ${elapsed} s`).toBeLessThanOrEqual(Math.floor((LIMIT * elapsed) / W));
      expect(fits, `at ${elapsed} s`).toBeGreaterThanOrEqual(Math.floor((LIMIT * elapsed) / W) - 1);
    }
  });

  it('refused requests of the last window weigh no more than LIMIT', () => {
    const hammered = slidingEstimate({ windowStart: START, current: 1, previous: 10 * LIMIT }, W, LIMIT, START + 30);
    const full = slidingEstimate({ windowStart: START, current: 1, previous: LIMIT }, W, LIMIT, START + 30);
    expect(hammered).toEqual(full);
    expect(full.exceeded).toBe(false);
  });

  it('when exceeded, resetAt is the first second at which one more request fits', () => {
    for (const [current, previous, elapsed] of [
      [1, LIMIT, 1],
      [5, LIMIT, 10],
      [LIMIT + 1, 0, 30],
      [LIMIT + 3, LIMIT, 59],
      [LIMIT + 50, 7, 0],
    ] as const) {
      const now = START + elapsed;
      const refused = slidingEstimate({ windowStart: START, current, previous }, W, LIMIT, now);
      expect(refused.exceeded).toBe(true);
      expect(refused.remaining).toBe(0);
      // One more request at resetAt (in this window or the next one, where `current` has become `previous`).
      const at = refused.resetAt;
      const next = (t: number) =>
        t < START + W
          ? slidingEstimate({ windowStart: START, current: current + 1, previous }, W, LIMIT, t)
          : slidingEstimate({ windowStart: START + W, current: 1, previous: current }, W, LIMIT, t);
      expect(next(at).exceeded, `at resetAt for ${current}/${previous}/${elapsed}`).toBe(false);
      expect(next(at - 1).exceeded, `a second before for ${current}/${previous}/${elapsed}`).toBe(true);
    }
  });

  it('a window that started a moment "after" now on another clock counts as just begun', () => {
    const ahead = slidingEstimate({ windowStart: START + W, current: 1, previous: 0 }, W, LIMIT, START + W - 1);
    expect(ahead).toEqual({ limit: LIMIT, remaining: LIMIT - 1, exceeded: false, resetAt: START + 2 * W });
  });
});

describe('addressKey', () => {
  it('IPv4 as is, also when IPv4-mapped', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('IPv6 by its /64: one subscriber cannot pose as 2^64 addresses', () => {
    const key = addressKey('2001:db8:abcd:12::1');
    expect(key).toBe('2001:db8:abcd:12::/64');
    expect(addressKey('2001:0db8:abcd:0012:ffff:ffff:ffff:ffff')).toBe(key);
    expect(addressKey('2001:DB8:ABCD:12:0:0:0:2')).toBe(key);
    expect(addressKey('2001:db8:abcd:13::1')).not.toBe(key);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('2001:db8::ffff:192.0.2.1')).toBe('2001:db8:0:0::/64');
  });

  it('anything else is left alone', () => {
    expect(addressKey('test-invoke-source-ip')).toBe('test-invoke-source-ip');
  });
});
