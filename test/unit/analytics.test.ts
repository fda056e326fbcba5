import { describe, expect, it } from 'vitest';
import { changeDelta, decisionOf, leadTimeBucket, mergeDeltas } from '#analytics/aggregates';
import { percentile, periodStarts, planCharges, resolveRange } from '#analytics/service';
import { monthsOf } from '#analytics/store';

const live = (over: Record<string, unknown> = {}) => ({
  sk: 'CHARGE',
  articleId: 'A',
  unit: 'kg',
  status: 'quarantine',
  quantity: 1.5,
  productionDate: '2026-05-01',
  updatedAt: '2026-05-01T08:00:00.000Z',
  ...over,
});

const byKey = (d: ReturnType<typeof changeDelta>) => Object.fromEntries(d.map((x) => [`${x.pk} ${x.sk}`, x.add]));

describe('analytics deltas', () => {
  it('a create adds the charge to its day, day-article and article buckets, in thousandths', () => {
    expect(byKey(changeDelta(undefined, live()))).toEqual({
      'CD#2026-05 2026-05-01#quarantine#kg': { n: 1, q: 1500 },
      'CA#2026-05 2026-05-01#A#quarantine#kg': { n: 1, q: 1500 },
      'AR#A 2026-05-01#quarantine#kg': { n: 1, q: 1500 },
    });
  });

  it('a quantity edit moves only the difference; a unit change moves the charge between buckets', () => {
    expect(byKey(changeDelta(live(), live({ quantity: 2 })))['CD#2026-05 2026-05-01#quarantine#kg']).toEqual({
      q: 500,
    });
    const moved = byKey(changeDelta(live(), live({ unit: 'g', quantity: 1500 })));
    expect(moved['CD#2026-05 2026-05-01#quarantine#kg']).toEqual({ n: -1, q: -1500 });
    expect(moved['CD#2026-05 2026-05-01#quarantine#g']).toEqual({ n: 1, q: 1500000 });
  });

  it('a soft delete removes the charge; snapshots and notes changes count nowhere', () => {
    expect(byKey(changeDelta(live(), live({ deletedAt: '2026-05-02T00:00:00.000Z' })))).toEqual({
      'CD#2026-05 2026-05-01#quarantine#kg': { n: -1, q: -1500 },
      'CA#2026-05 2026-05-01#A#quarantine#kg': { n: -1, q: -1500 },
      'AR#A 2026-05-01#quarantine#kg': { n: -1, q: -1500 },
    });
    expect(changeDelta(undefined, live({ sk: 'V#0000000001' }))).toEqual([]);
    expect(changeDelta(live(), live({ notes: 'x' }))).toEqual([]);
  });

  it('a release out of quarantine is a decision on its day with its lead time; a block has none', () => {
    const released = live({ status: 'released', updatedAt: '2026-05-11T09:00:00.000Z' });
    expect(decisionOf(live(), released)).toEqual({ status: 'released', date: '2026-05-11', leadTimeDays: 10 });
    expect(byKey(changeDelta(live(), released))['QA#2026-05 2026-05-11']).toEqual({ released: 1, lt8: 1 });
    const blocked = live({ status: 'blocked', updatedAt: '2026-06-01T00:00:00.000Z' });
    expect(decisionOf(released, blocked)).toEqual({ status: 'blocked', date: '2026-06-01' });
    expect(decisionOf(released, live({ status: 'released', quantity: 3 }))).toBeUndefined();
  });

  it('deltas of a sequence add up to its final state in any order', () => {
    const states = [
      undefined,
      live(),
      live({ quantity: 3 }),
      live({ quantity: 3, status: 'released' }),
      live({ quantity: 3, status: 'released', unit: 'l' }),
    ];
    const steps = states.slice(1).map((s, i) => changeDelta(states[i], s));
    const forward = mergeDeltas(steps.flat());
    const backward = mergeDeltas([...steps].reverse().flat());
    expect(byKey(backward)).toEqual(byKey(forward));
    expect(byKey(forward)['CD#2026-05 2026-05-01#released#l']).toEqual({ n: 1, q: 3000 });
  });
});

describe('analytics query helpers', () => {
  it('lead-time buckets and percentiles report the bucket upper bound', () => {
    expect([0, 1, 8, 10, 11, 365, 366].map(leadTimeBucket)).toEqual([0, 1, 8, 8, 9, 16, 17]);
    const histogram = Array.from({ length: 18 }, () => 0);
    histogram[1] = 1;
    histogram[5] = 1;
    histogram[8] = 1;
    histogram[11] = 1;
    expect(percentile(histogram, 0.5)).toBe(5);
    expect(percentile(histogram, 0.9)).toBe(30);
    expect(
      percentile(
        Array.from({ length: 18 }, () => 0),
        0.5,
      ),
    ).toBeNull();
  });

  it('periods start on Mondays and first days of months; months of a range', () => {
    expect(periodStarts('2026-05-01', '2026-05-12', 'week')).toEqual(['2026-04-27', '2026-05-04', '2026-05-11']);
    expect(periodStarts('2025-12-15', '2026-02-01', 'month')).toEqual(['2025-12-01', '2026-01-01', '2026-02-01']);
    expect(monthsOf('2025-11-30', '2026-01-01')).toEqual(['2025-11', '2025-12', '2026-01']);
  });

  it('relative ranges count back from to', () => {
    const now = new Date('2026-05-31T12:00:00Z');
    expect(resolveRange({ from: 'P30D' }, now)).toEqual({ from: '2026-05-02', to: '2026-05-31' });
    expect(resolveRange({ from: 'P2W', to: '2026-05-14' }, now)).toEqual({ from: '2026-05-01', to: '2026-05-14' });
    expect(resolveRange({ from: 'P1M' }, now)).toEqual({ from: '2026-05-01', to: '2026-05-31' });
  });

  it('bounds: 400 days, 2 000 values, one unit for quantities', () => {
    const now = new Date('2026-05-31T12:00:00Z');
    expect(planCharges({ from: '2025-04-27', to: '2026-05-31' }, now).issues).toEqual([]);
    expect(planCharges({ from: '2025-04-26', to: '2026-05-31' }, now).issues.map((i) => i.code)).toEqual(['too_big']);
    expect(planCharges({ groupBy: 'status', interval: 'day', from: 'P400D' }, now).issues).toEqual([]);
    expect(planCharges({ groupBy: 'unit', interval: 'day', from: 'P400D' }, now).issues.map((i) => i.path)).toEqual([
      'interval',
    ]);
    expect(planCharges({ measure: 'quantity' }, now).issues.map((i) => i.code)).toEqual(['mixed_units']);
    expect(planCharges({ measure: 'quantity', groupBy: 'unit' }, now).issues).toEqual([]);
  });
});
