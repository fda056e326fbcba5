import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Series } from '#analytics/model';
import { expectError } from '#test/support/assertions';
import { chargeHistory } from '#test/support/analytics';
import { stubEnvForAll } from '#test/support/env';
import { eventually } from '#test/support/eventually';
import { type LocalApi, startLocalApi } from '#test/support/local-api';
import { type TestUser, userWithRoles } from '#test/support/users';

stubEnvForAll({ RATE_LIMIT_PER_MINUTE: '10000' });

let api: LocalApi;
let viewer: TestUser;

/**
 * Production in May 2026 (articles A and B, kg and pcs), QA decisions in June: the local runtime's analytics consumer
 * keeps the aggregates from the charges stream, and the routes read them.
 */
beforeAll(async () => {
  api = await startLocalApi();
  viewer = await userWithRoles(api, ['viewer']);
  const may = (d: number) => `2026-05-${String(d).padStart(2, '0')}`;
  const base = { status: 'quarantine' as const, at: '2026-05-01T06:00:00.000Z' };
  // Released after 10 and 5 days, rejected after 30, one still in quarantine, one deleted, one blocked after release.
  await chargeHistory({ ...base, articleId: 'A', quantity: 1.1, unit: 'kg', productionDate: may(1) }, [
    { status: 'released', at: '2026-05-11T09:00:00.000Z' },
  ]);
  await chargeHistory({ ...base, articleId: 'A', quantity: 2.2, unit: 'kg', productionDate: may(6) }, [
    { status: 'released', at: '2026-05-11T10:00:00.000Z' },
  ]);
  await chargeHistory({ ...base, articleId: 'B', quantity: 5, unit: 'pcs', productionDate: may(1) }, [
    { status: 'rejected', at: '2026-05-31T10:00:00.000Z' },
  ]);
  await chargeHistory({ ...base, articleId: 'B', quantity: 7, unit: 'pcs', productionDate: may(12) });
  await chargeHistory({ ...base, articleId: 'B', quantity: 9, unit: 'kg', productionDate: may(12) }, [
    { deletedAt: '2026-05-21T10:00:00.000Z', at: '2026-05-21T10:00:00.000Z' },
  ]);
  await chargeHistory({ ...base, articleId: 'A', quantity: 0.7, unit: 'kg', productionDate: may(13) }, [
    { status: 'released', at: '2026-05-14T09:00:00.000Z' },
    { status: 'blocked', at: '2026-06-02T09:00:00.000Z' },
  ]);
  // The consumer has caught up once every decision is counted.
  await eventually(async () => {
    const res = await get('/analytics/qa?measure=decisions&groupBy=month&from=2026-05-01&to=2026-06-30');
    expect(res.status).toBe(200);
    const total = (res.json as Series).series.flatMap((s) => s.points).reduce((a, p) => a + (p.value ?? 0), 0);
    expect(total).toBe(5);
  });
});
afterAll(() => api?.stop());

const get = (path: string, token = viewer.token) => api.request(path, { token });
const series = async (path: string) => {
  const res = await get(path);
  expect(res.status, res.text).toBe(200);
  return res.json as Series;
};
const values = (s: Series) => Object.fromEntries(s.series.map((x) => [x.key, x.points.map((p) => p.value)]));
const MAY = 'from=2026-05-01&to=2026-05-31';

describe('GET /analytics/charges', () => {
  it('counts live charges per status over the range (one point: the range total)', async () => {
    const s = await series(`/analytics/charges?groupBy=status&${MAY}`);
    expect(s.result).toEqual({
      measure: 'count',
      groupBy: 'status',
      interval: null,
      from: '2026-05-01',
      to: '2026-05-31',
      unit: null,
    });
    // The deleted charge counts nowhere; the blocked one is blocked.
    expect(values(s)).toEqual({ in_production: [0], quarantine: [1], released: [2], rejected: [1], blocked: [1] });
  });

  it('per day, week and month: every period is a point, zero where nothing was produced', async () => {
    const days = await series(`/analytics/charges?groupBy=day&${MAY}`);
    expect(days.series).toHaveLength(1);
    expect(days.series[0]?.key).toBe('count');
    expect(days.series[0]?.points).toHaveLength(31);
    expect(days.series[0]?.points[0]).toEqual({ t: '2026-05-01', value: 2 });
    expect(days.series[0]?.points[1]).toEqual({ t: '2026-05-02', value: 0 });
    // Weeks start on Monday: 2026-05-01 is a Friday.
    const weeks = await series(`/analytics/charges?groupBy=week&${MAY}`);
    expect(weeks.series[0]?.points.map((p) => p.t)).toEqual([
      '2026-04-27',
      '2026-05-04',
      '2026-05-11',
      '2026-05-18',
      '2026-05-25',
    ]);
    expect(weeks.series[0]?.points.map((p) => p.value)).toEqual([2, 1, 2, 0, 0]);
    const months = await series('/analytics/charges?groupBy=month&from=2026-04-01&to=2026-06-30');
    expect(values(months)).toEqual({ count: [0, 5, 0] });
  });

  it('status, article and unit series with a time axis (interval), and filters', async () => {
    const s = await series(`/analytics/charges?groupBy=article&interval=week&${MAY}`);
    expect(s.result.interval).toBe('week');
    expect(values(s)).toEqual({ A: [1, 1, 1, 0, 0], B: [1, 0, 1, 0, 0] });
    const units = await series(`/analytics/charges?groupBy=unit&${MAY}`);
    expect(values(units)).toEqual({ kg: [3], pcs: [2] });
    const released = await series(`/analytics/charges?groupBy=article&status=released&${MAY}`);
    expect(values(released)).toEqual({ A: [2] });
    const oneArticle = await series(`/analytics/charges?groupBy=status&articleId=B&unit=pcs&${MAY}`);
    expect(values(oneArticle)).toMatchObject({ quarantine: [1], rejected: [1], released: [0] });
  });

  it('sums quantities exactly, per one unit', async () => {
    const kg = await series(`/analytics/charges?measure=quantity&unit=kg&groupBy=month&${MAY}`);
    expect(kg.result.unit).toBe('kg');
    // 1.1 + 2.2 + 0.7 in floating point is 4.000000000000001; kept in thousandths it is 4.
    expect(values(kg)).toEqual({ quantity: [4] });
    const perUnit = await series(`/analytics/charges?measure=quantity&groupBy=unit&${MAY}`);
    expect(values(perUnit)).toEqual({ kg: [4], pcs: [12] });
  });

  it('groupBy=article names the top articles and sums the rest as other', async () => {
    const s = await series(`/analytics/charges?groupBy=article&top=1&${MAY}`);
    expect(values(s)).toEqual({ A: [3], other: [2] });
  });

  it('a window back from today (from=P30D) covers 30 days up to today', async () => {
    const s = await series('/analytics/charges?groupBy=day&from=P30D');
    expect(s.series[0]?.points).toHaveLength(30);
    expect(s.result.to).toBe(new Date().toISOString().slice(0, 10));
  });

  it.each([
    ['quantity of mixed units', `measure=quantity&${MAY}`, 'query.measure', 'mixed_units'],
    ['a range over 400 days', 'from=2025-01-01&to=2026-05-31', 'query.from', 'too_big'],
    ['from after to', 'from=2026-06-01&to=2026-05-01', 'query.from', 'custom'],
    [
      'too many values',
      'groupBy=article&top=50&interval=day&from=2026-01-01&to=2026-05-31',
      'query.interval',
      'too_big',
    ],
    ['interval on a time grouping', `groupBy=day&interval=week&${MAY}`, 'query.interval', 'invalid'],
    ['top without groupBy=article', `top=3&${MAY}`, 'query.top', 'invalid'],
    ['an unknown measure', 'measure=weight', 'query.measure', 'invalid_value'],
    ['a non-date', 'to=2026-02-30', 'query.to', undefined],
    ['a bad window', 'from=P3Y', 'query.from', 'custom'],
  ])('422 VALIDATION_ERROR for %s', async (_, query, path, code) => {
    const error = expectError(await get(`/analytics/charges?${query}`), 422, 'VALIDATION_ERROR');
    expect(error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path, code: code ?? expect.any(String) })]),
    );
  });

  it('400 for an unknown parameter; 401 without a token', async () => {
    expectError(await get('/analytics/charges?sort=desc'), 400, 'BAD_REQUEST');
    expectError(await api.request('/analytics/charges'), 401, 'UNAUTHORIZED');
  });
});

describe('GET /analytics/qa', () => {
  const JUNE = 'from=2026-05-01&to=2026-06-30';

  it('decisions per month: released, rejected, blocked', async () => {
    const s = await series(`/analytics/qa?measure=decisions&groupBy=month&${JUNE}`);
    expect(values(s)).toEqual({ released: [3, 0], rejected: [1, 0], blocked: [0, 1] });
  });

  it('decisions per day put each on its day', async () => {
    const s = await series('/analytics/qa?from=2026-05-11&to=2026-05-14');
    expect(values(s)).toEqual({ released: [2, 0, 0, 1], rejected: [0, 0, 0, 0], blocked: [0, 0, 0, 0] });
  });

  it('rejection rate: rejected / (released + rejected), null where nothing was decided', async () => {
    const s = await series(`/analytics/qa?measure=rejection_rate&groupBy=month&${JUNE}`);
    expect(values(s)).toEqual({ rejection_rate: [0.25, null] });
  });

  it('lead time p50 / p90 in days, from the decisions that end quarantine (histogram upper bounds)', async () => {
    const s = await series(`/analytics/qa?measure=lead_time&groupBy=month&${JUNE}`);
    // Lead times 10, 5, 30, 1 days (the block is no lead time): p50 falls in (4, 5], p90 in (21, 30].
    expect(values(s)).toEqual({ p50: [5, null], p90: [30, null] });
  });

  it('422 for a range over 400 days; 400 for a parameter of the charges query', async () => {
    expectError(await get('/analytics/qa?from=2024-01-01&to=2026-01-01'), 422, 'VALIDATION_ERROR');
    expectError(await get('/analytics/qa?status=released'), 400, 'BAD_REQUEST');
  });
});
