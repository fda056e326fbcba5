import { STATUSES, UNITS } from '#charges/model';
import { validationError } from '#platform/errors';
import { DECISION_STATUSES, LEAD_TIME_BUCKETS, LEAD_TIME_OVERFLOW, daysBetween, leadTimeAttribute } from './aggregates';
import {
  type ChargesQuery,
  DEFAULT_RANGE_DAYS,
  DEFAULT_TOP,
  MAX_RANGE_DAYS,
  MAX_VALUES,
  type Period,
  type QaQuery,
  type Series,
  type WidgetQuery,
} from './model';
import type { AnalyticsStore } from './store';

export interface Issue {
  path: string;
  code: string;
  message: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const addDays = (date: string, days: number) => isoDay(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);

/** The first day of the period a date falls in (weeks start on Monday, ISO 8601). */
export function periodStart(date: string, period: Period): string {
  if (period === 'day') return date;
  if (period === 'month') return `${date.slice(0, 7)}-01`;
  const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
  return addDays(date, -weekday);
}

/** Every period start from the one holding `from` to the one holding `to`. */
export function periodStarts(from: string, to: string, period: Period): string[] {
  const out: string[] = [];
  for (let t = periodStart(from, period); t <= to;) {
    out.push(t);
    if (period === 'day') t = addDays(t, 1);
    else if (period === 'week') t = addDays(t, 7);
    else {
      const [y, m] = t.split('-').map(Number) as [number, number];
      t = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
    }
  }
  return out;
}

/** `from`/`to` as dates: `to` defaults to today, `from` to a window before it, and `P30D` counts back from `to`. */
export function resolveRange(q: { from?: string; to?: string }, now: Date): { from: string; to: string } {
  const to = q.to ?? isoDay(now.getTime());
  const from = q.from ?? `P${DEFAULT_RANGE_DAYS}D`;
  if (!from.startsWith('P')) return { from, to };
  const n = Number(from.slice(1, -1));
  const unit = from.at(-1);
  if (unit === 'D') return { from: addDays(to, -(n - 1)), to };
  if (unit === 'W') return { from: addDays(to, -(7 * n - 1)), to };
  // n months back, on the same day or the month's last (31 May − 1 month is 30 April), then the day after.
  const [y, m, day] = to.split('-').map(Number) as [number, number, number];
  const months = y * 12 + (m - 1) - n;
  const lastDay = new Date(Date.UTC(Math.floor(months / 12), (months % 12) + 1, 0)).getUTCDate();
  const back = Date.UTC(Math.floor(months / 12), months % 12, Math.min(day, lastDay));
  return { from: addDays(isoDay(back), 1), to };
}

type ChargeGroup = 'status' | 'article' | 'unit';

/** A charges query resolved: what to read and how many values the answer may hold. */
interface ChargesPlan {
  kind: 'charges';
  measure: 'count' | 'quantity';
  groupBy: ChargeGroup | Period;
  /** Time axis: the period of the points, or null for one point per series (the range total). */
  period: Period | null;
  from: string;
  to: string;
  filters: { status?: string; articleId?: string; unit?: string };
  top: number;
}

interface QaPlan {
  kind: 'qa';
  measure: 'decisions' | 'lead_time' | 'rejection_rate';
  period: Period;
  from: string;
  to: string;
}

const PERIOD_SET: ReadonlySet<string> = new Set(['day', 'week', 'month']);

function rangeIssues(from: string, to: string): Issue[] {
  const days = daysBetween(from, to) + 1;
  if (days < 1) return [{ path: 'from', code: 'invalid_range', message: 'from must not be after to' }];
  if (days > MAX_RANGE_DAYS) {
    return [
      {
        path: 'from',
        code: 'too_big',
        message: `The range may cover at most ${MAX_RANGE_DAYS} days (it covers ${days})`,
      },
    ];
  }
  return [];
}

function valueIssues(series: number, points: number): Issue[] {
  return series * points > MAX_VALUES
    ? [
        {
          path: 'interval',
          code: 'too_big',
          message: `The answer would hold up to ${series * points} values (${series} series × ${points} points); at most ${MAX_VALUES}: choose a coarser interval or a shorter range`,
        },
      ]
    : [];
}

export function planCharges(q: ChargesQuery, now: Date): { plan: ChargesPlan; issues: Issue[] } {
  const { from, to } = resolveRange(q, now);
  const groupBy = q.groupBy ?? 'day';
  const timeGroup = PERIOD_SET.has(groupBy);
  const measure = q.measure ?? 'count';
  const issues: Issue[] = [...rangeIssues(from, to)];
  if (timeGroup && q.interval) {
    issues.push({ path: 'interval', code: 'invalid', message: 'interval goes with groupBy status, article or unit' });
  }
  if (q.top !== undefined && groupBy !== 'article') {
    issues.push({ path: 'top', code: 'invalid', message: 'top goes with groupBy=article' });
  }
  if (measure === 'quantity' && !q.unit && groupBy !== 'unit') {
    issues.push({
      path: 'measure',
      code: 'mixed_units',
      message: 'Quantities of different units do not add up: give unit= or groupBy=unit',
    });
  }
  const period = timeGroup ? (groupBy as Period) : (q.interval ?? null);
  const top = q.top ? Number(q.top) : DEFAULT_TOP;
  const seriesCount =
    groupBy === 'status' ? STATUSES.length : groupBy === 'unit' ? UNITS.length : groupBy === 'article' ? top + 1 : 1;
  if (issues.length === 0 && period) issues.push(...valueIssues(seriesCount, periodStarts(from, to, period).length));
  return {
    plan: {
      kind: 'charges',
      measure,
      groupBy: groupBy as ChargesPlan['groupBy'],
      period,
      from,
      to,
      filters: { status: q.status, articleId: q.articleId, unit: q.unit },
      top,
    },
    issues,
  };
}

export function planQa(q: QaQuery, now: Date): { plan: QaPlan; issues: Issue[] } {
  const { from, to } = resolveRange(q, now);
  const period = q.groupBy ?? 'day';
  const measure = q.measure ?? 'decisions';
  const issues = rangeIssues(from, to);
  const seriesCount = measure === 'decisions' ? DECISION_STATUSES.length : measure === 'lead_time' ? 2 : 1;
  if (issues.length === 0) issues.push(...valueIssues(seriesCount, periodStarts(from, to, period).length));
  return { plan: { kind: 'qa', measure, period, from, to }, issues };
}

/** A widget's query checked as the analytics routes check it (a dashboard may only hold queries that can run). */
export function widgetQueryIssues(query: WidgetQuery, now: Date): Issue[] {
  return query.endpoint === 'charges' ? planCharges(query.params, now).issues : planQa(query.params, now).issues;
}

function rejectIssues(issues: Issue[], prefix: string): void {
  if (issues.length > 0) {
    throw validationError(
      'The query is not valid',
      issues.map((i) => ({ ...i, path: `${prefix}${i.path}` })),
    );
  }
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** A value per period start, for each series key, filled with zero (or null) where nothing was kept. */
class Grid {
  private readonly rows = new Map<string, Map<string, number>>();
  constructor(private readonly ts: readonly string[]) {}
  add(key: string, t: string, value: number) {
    let row = this.rows.get(key);
    if (!row) this.rows.set(key, (row = new Map()));
    row.set(t, (row.get(t) ?? 0) + value);
  }
  total(key: string) {
    let sum = 0;
    for (const v of this.rows.get(key)?.values() ?? []) sum += v;
    return sum;
  }
  keys() {
    return [...this.rows.keys()];
  }
  get(key: string, t: string) {
    return this.rows.get(key)?.get(t) ?? 0;
  }
  series(key: string, value: (t: string) => number | null = (t) => this.get(key, t)) {
    return { key, points: this.ts.map((t) => ({ t, value: value(t) })) };
  }
}

/** Thousandths back to the unit: the integer sum divided once, so 0.1 + 0.2 is 0.3. */
const fromMilli = (milli: number) => Number((milli / 1000).toFixed(3));

/** Reads aggregates only: a query's cost depends on the buckets in its range, never on how many charges exist. */
export class AnalyticsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async charges(q: ChargesQuery, prefix = 'query.'): Promise<Series> {
    const { plan, issues } = planCharges(q, this.clock());
    rejectIssues(issues, prefix);
    const { from, to, filters, period } = plan;
    const items = filters.articleId
      ? await this.store.articleBuckets(filters.articleId, from, to)
      : await this.store.buckets(plan.groupBy === 'article' ? 'dayArticle' : 'day', from, to);
    const ts = period ? periodStarts(from, to, period) : [from];
    const grid = new Grid(ts);
    const timeGroup = PERIOD_SET.has(plan.groupBy);
    for (const item of items) {
      if (filters.status && item.status !== filters.status) continue;
      if (filters.unit && item.unit !== filters.unit) continue;
      const value = plan.measure === 'count' ? num(item.n) : num(item.q);
      if (value === 0) continue;
      const key = timeGroup
        ? plan.measure
        : String(plan.groupBy === 'article' ? item.articleId : plan.groupBy === 'status' ? item.status : item.unit);
      grid.add(key, period ? periodStart(String(item.date), period) : from, value);
    }
    let keys: string[];
    if (timeGroup) keys = [plan.measure];
    else if (plan.groupBy === 'status') keys = STATUSES.filter((s) => !filters.status || s === filters.status);
    else if (plan.groupBy === 'unit')
      keys = UNITS.filter((u) => (filters.unit ? u === filters.unit : grid.total(u) !== 0));
    else keys = grid.keys().sort((a, b) => grid.total(b) - grid.total(a) || (a < b ? -1 : 1));
    const scale = (v: number) => (plan.measure === 'quantity' ? fromMilli(v) : v);
    const series = keys.slice(0, plan.groupBy === 'article' ? plan.top : undefined).map((key) => {
      const s = grid.series(key);
      return { key, points: s.points.map((p) => ({ t: p.t, value: scale(p.value ?? 0) })) };
    });
    if (plan.groupBy === 'article' && keys.length > plan.top) {
      const rest = keys.slice(plan.top);
      series.push({
        key: 'other',
        points: ts.map((t) => ({ t, value: scale(rest.reduce((sum, k) => sum + grid.get(k, t), 0)) })),
      });
    }
    return {
      result: {
        measure: plan.measure,
        groupBy: plan.groupBy,
        interval: period,
        from,
        to,
        unit: plan.measure === 'quantity' && filters.unit ? (filters.unit as Series['result']['unit']) : null,
      },
      series,
    };
  }

  async qa(q: QaQuery, prefix = 'query.'): Promise<Series> {
    const { plan, issues } = planQa(q, this.clock());
    rejectIssues(issues, prefix);
    const { from, to, period } = plan;
    const days = await this.store.qaDays(from, to);
    const ts = periodStarts(from, to, period);
    const grid = new Grid(ts);
    for (const day of days) {
      const t = periodStart(String(day.date), period);
      for (const status of DECISION_STATUSES) grid.add(status, t, num(day[status]));
      for (let b = 0; b <= LEAD_TIME_OVERFLOW; b++) grid.add(leadTimeAttribute(b), t, num(day[leadTimeAttribute(b)]));
    }
    const result = { measure: plan.measure, groupBy: period, interval: period, from, to, unit: null };
    if (plan.measure === 'decisions') return { result, series: DECISION_STATUSES.map((s) => grid.series(s)) };
    if (plan.measure === 'rejection_rate') {
      return {
        result,
        series: [
          grid.series('rejection_rate', (t) => {
            const decided = grid.get('released', t) + grid.get('rejected', t);
            return decided > 0 ? Number((grid.get('rejected', t) / decided).toFixed(4)) : null;
          }),
        ],
      };
    }
    const histogram = (t: string) =>
      Array.from({ length: LEAD_TIME_OVERFLOW + 1 }, (_, b) => grid.get(leadTimeAttribute(b), t));
    return {
      result,
      series: [
        grid.series('p50', (t) => percentile(histogram(t), 0.5)),
        grid.series('p90', (t) => percentile(histogram(t), 0.9)),
      ],
    };
  }

  /** A dashboard widget's data: the same query, the same checks. */
  widget(query: WidgetQuery): Promise<Series> {
    return query.endpoint === 'charges' ? this.charges(query.params) : this.qa(query.params);
  }
}

/**
 * The p-quantile of a lead-time histogram, as the upper bound of the bucket it falls in (so within that bucket's
 * width, and never below the truth); above the last bound it is the last bound + 1. null when the histogram is empty.
 */
export function percentile(histogram: readonly number[], p: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (let b = 0; b < histogram.length; b++) {
    seen += histogram[b] ?? 0;
    if (seen >= rank)
      return b < LEAD_TIME_BUCKETS.length ? (LEAD_TIME_BUCKETS[b] as number) : (LEAD_TIME_BUCKETS.at(-1) as number) + 1;
  }
  return null;
}
