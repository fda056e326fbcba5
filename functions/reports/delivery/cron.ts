import { Cron, type CronOptions } from 'croner';
import { ChargeRecordsError } from '#platform/errors';

/**
 * EventBridge Scheduler cron expressions: `minutes hours day-of-month month day-of-week year`, with or
 * without the `cron(…)` wrapper, e.g. `0 6 ? * MON *`. Day-of-week counts 1 = Sunday (Quartz style), and
 * exactly one of day-of-month / day-of-week is `?`. Each field is checked against Scheduler's grammar here (croner
 * alone took `8` as a weekday); croner (7-part mode, Quartz weekdays) evaluates the same syntax for the local scheduler.
 */
export interface ParsedCron {
  /** The six fields, normalised to single spaces, without the wrapper: what Scheduler gets inside `cron(…)`. */
  expression: string;
}

/** One field of the grammar: its values, names (Month and Day-of-week) and which wildcards it takes. */
interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** `/` increments. */
  step: boolean;
  /** `?`, `L`, `W` (Day-of-month), `L`, `#` (Day-of-week). */
  special?: 'day-of-month' | 'day-of-week';
  /** As the refusal names them. */
  wildcards: string;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

/** EventBridge Scheduler's table: values, and `, - * /` (plus `? L W #` where allowed) — nothing else. */
const FIELDS: readonly FieldRule[] = [
  { name: 'minutes', min: 0, max: 59, step: true, wildcards: ', - * /' },
  { name: 'hours', min: 0, max: 23, step: true, wildcards: ', - * /' },
  { name: 'day-of-month', min: 1, max: 31, step: true, special: 'day-of-month', wildcards: ', - * ? / L W' },
  { name: 'month', min: 1, max: 12, names: MONTHS, step: true, wildcards: ', - * /' },
  {
    name: 'day-of-week',
    min: 1,
    max: 7,
    names: WEEKDAYS,
    step: false,
    special: 'day-of-week',
    wildcards: ', - * ? L #',
  },
  { name: 'year', min: 1970, max: 2199, step: true, wildcards: ', - * /' },
];

/** A single value of the field: a number in its range, or (Month, Day-of-week) a name; undefined if neither. */
function valueOf(text: string, rule: FieldRule): number | undefined {
  if (/^\d{1,4}$/.test(text)) {
    const n = Number(text);
    return n >= rule.min && n <= rule.max ? n : undefined;
  }
  const index = rule.names?.indexOf(text.toUpperCase() as never) ?? -1;
  return index === -1 ? undefined : rule.min + index;
}

/** `a`, `a-b` (a ≤ b) or `*`: undefined when it is none of these. */
function rangeOf(text: string, rule: FieldRule): [number, number] | undefined {
  if (text === '*') return [rule.min, rule.max];
  const dash = text.indexOf('-');
  if (dash === -1) {
    const v = valueOf(text, rule);
    return v === undefined ? undefined : [v, v];
  }
  const from = valueOf(text.slice(0, dash), rule);
  const to = valueOf(text.slice(dash + 1), rule);
  return from !== undefined && to !== undefined && from <= to ? [from, to] : undefined;
}

/** One comma-separated item: a value, a range or `*`, with `/step` where the field takes increments. */
function isPlainItem(item: string, rule: FieldRule): boolean {
  const slash = item.indexOf('/');
  if (slash === -1) return rangeOf(item, rule) !== undefined;
  if (!rule.step) return false;
  const step = item.slice(slash + 1);
  if (!/^\d{1,4}$/.test(step)) return false;
  return (
    Number(step) >= 1 && Number(step) <= rule.max - rule.min + 1 && rangeOf(item.slice(0, slash), rule) !== undefined
  );
}

/** `L` (last day), `LW` (last weekday), `nW` (the weekday nearest day n): each a field of its own. */
function isDayOfMonthSpecial(field: string): boolean {
  if (field === 'L' || field === 'LW') return true;
  const w = /^(\d{1,2})W$/.exec(field);
  return w !== null && Number(w[1]) >= 1 && Number(w[1]) <= 31;
}

/** `L` (the last day of the week), `dL` (the last weekday d of the month), `d#n` (its n-th, 1–5): each a field of its own. */
function isDayOfWeekSpecial(field: string, rule: FieldRule): boolean {
  if (field === 'L') return true;
  const last = /^(\d)L$/.exec(field);
  if (last) return valueOf(last[1] as string, rule) !== undefined;
  const nth = /^([0-9A-Z]{1,3})#(\d)$/i.exec(field);
  return nth !== null && valueOf(nth[1] as string, rule) !== undefined && Number(nth[2]) >= 1 && Number(nth[2]) <= 5;
}

/** Checks one field against EventBridge Scheduler's grammar; the message says what the field may hold. */
function checkField(field: string, rule: FieldRule, position: number): void {
  const fail = (): never => {
    const names = rule.names ? ` or ${rule.names[0]}-${rule.names.at(-1)}` : '';
    const sunday = rule.special === 'day-of-week' ? ' (1 = Sunday)' : '';
    throw new CronError(
      `Field ${position} (${rule.name}) "${field}" is not valid: values ${rule.min}-${rule.max}${names}${sunday}, wildcards ${rule.wildcards}`,
    );
  };
  if (field === '?') {
    if (!rule.special) fail();
    return;
  }
  if (rule.special === 'day-of-month' && isDayOfMonthSpecial(field)) return;
  if (rule.special === 'day-of-week' && isDayOfWeekSpecial(field, rule)) return;
  if (!field.split(',').every((item) => isPlainItem(item, rule))) fail();
}

export class CronError extends ChargeRecordsError {}

export function croneOptions(timezone: string): CronOptions {
  return { mode: '7-part', alternativeWeekdays: true, domAndDow: true, sloppyRanges: true, timezone };
}

/**
 * The croner pattern for an EventBridge expression: seconds 0 in front. A Day-of-week `L` alone (the last day of the
 * week) is Saturday, which croner spells 7.
 */
export function cronerPattern(expression: string): string {
  const fields = expression.split(' ');
  if (fields[4] === 'L') fields[4] = '7';
  return `0 ${fields.join(' ')}`;
}

export function parseEventBridgeCron(input: string): ParsedCron {
  const inner = /^cron\((.*)\)$/s.exec(input.trim())?.[1] ?? input;
  const fields = inner.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new CronError('A cron expression has 6 fields: minutes hours day-of-month month day-of-week year');
  fields.forEach((field, i) => checkField(field, FIELDS[i] as FieldRule, i + 1));
  const [, , dom, , dow] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    throw new CronError('Exactly one of day-of-month and day-of-week must be ?');
  }
  const expression = fields.join(' ');
  try {
    new Cron(cronerPattern(expression), { ...croneOptions('UTC'), paused: true }).stop();
  } catch (err) {
    throw new CronError(err instanceof Error ? err.message.replace(/^CronPattern: /, '') : 'Invalid cron expression');
  }
  return { expression };
}

/** The minutes a valid minutes field selects. */
function minutesOf(field: string): Set<number> {
  const rule = FIELDS[0] as FieldRule;
  const minutes = new Set<number>();
  for (const item of field.split(',')) {
    const [range = '', step = '1'] = item.split('/');
    const [from, to] = rangeOf(range, rule) as [number, number];
    // `5/15` runs from 5 to the end of the hour, as `5-59/15` does.
    const end = item.includes('/') && !range.includes('-') ? rule.max : to;
    for (let m = from; m <= end; m += Number(step)) minutes.add(m);
  }
  return minutes;
}

/** The zone's UTC offset at `at`, in minutes. */
function offsetMinutes(format: Intl.DateTimeFormat, at: Date): number {
  const name = format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d{2}):?(\d{2})?$/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Whether a valid expression can fire twice within an hour in `timezone`. More than one minute value always can. One
 * minute value fires whole hours apart, except where the zone's offset changes by other than whole hours (Lord Howe
 * Island's half-hour summer time): the year ahead is checked around each offset change.
 */
export function firesMoreThanHourly(expression: string, timezone: string, from = new Date()): boolean {
  const [minuteField = ''] = expression.split(' ');
  if (minutesOf(minuteField).size > 1) return true;
  const format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
  let previous = offsetMinutes(format, from);
  for (let day = 1; day <= 366; day++) {
    const at = new Date(from.getTime() + day * DAY_MS);
    const offset = offsetMinutes(format, at);
    if (offset === previous) continue;
    const change = previous - offset;
    previous = offset;
    if (change % 60 === 0) continue;
    const windowStart = new Date(at.getTime() - 2 * DAY_MS);
    const runs = nextRuns(expression, timezone, 100, windowStart).filter((r) => r.getTime() <= at.getTime() + DAY_MS);
    for (let i = 1; i < runs.length; i++) {
      if ((runs[i] as Date).getTime() - (runs[i - 1] as Date).getTime() < HOUR_MS) return true;
    }
  }
  return false;
}

export function isValidTimeZone(zone: string): boolean {
  if (zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The next fire times (for the API's view of a definition and for tests). */
export function nextRuns(expression: string, timezone: string, count: number, from = new Date()): Date[] {
  const job = new Cron(cronerPattern(expression), { ...croneOptions(timezone), paused: true });
  try {
    return job.nextRuns(count, from);
  } finally {
    job.stop();
  }
}
