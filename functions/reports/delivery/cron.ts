import { Cron, type CronOptions } from 'croner';
import { ChargeRecordsError } from '#platform/errors';

/**
 * EventBridge Scheduler cron expressions: `minutes hours day-of-month month day-of-week year`, with or
 * without the `cron(…)` wrapper, e.g. `0 6 ? * MON *`. Day-of-week counts 1 = Sunday (Quartz style), and
 * exactly one of day-of-month / day-of-week is `?`. croner (7-part mode, Quartz weekdays) evaluates the
 * same syntax for the local scheduler; it also checks the fields' values.
 */
export interface ParsedCron {
  /** The six fields, normalised to single spaces, without the wrapper: what Scheduler gets inside `cron(…)`. */
  expression: string;
}

const FIELD_CHARS = [
  /^[0-9,\-*/]+$/, // minutes
  /^[0-9,\-*/]+$/, // hours
  /^(\?|[0-9,\-*/LW]+)$/i, // day of month
  /^[0-9A-Z,\-*/]+$/i, // month
  /^(\?|[0-9A-Z,\-*/L#]+)$/i, // day of week
  /^[0-9,\-*/]+$/, // year
];

export class CronError extends ChargeRecordsError {}

export function croneOptions(timezone: string): CronOptions {
  return { mode: '7-part', alternativeWeekdays: true, domAndDow: true, sloppyRanges: true, timezone };
}

/** The croner pattern for an EventBridge expression: seconds 0 in front. */
export const cronerPattern = (expression: string) => `0 ${expression}`;

export function parseEventBridgeCron(input: string): ParsedCron {
  const inner = /^cron\((.*)\)$/s.exec(input.trim())?.[1] ?? input;
  const fields = inner.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new CronError('A cron expression has 6 fields: minutes hours day-of-month month day-of-week year');
  fields.forEach((field, i) => {
    if (!FIELD_CHARS[i]?.test(field)) throw new CronError(`Field ${i + 1} (${field}) is not valid`);
  });
  const [, , dom, , dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    throw new CronError('Exactly one of day-of-month and day-of-week must be ?');
  }
  for (const y of year.match(/\d+/g) ?? []) {
    // Step values are not years: only check numbers that stand before a `/` or alone.
    if (year.includes(`/${y}`)) continue;
    if (Number(y) < 1970 || Number(y) > 2199) throw new CronError('Years run from 1970 to 2199');
  }
  const expression = fields.join(' ');
  try {
    new Cron(cronerPattern(expression), { ...croneOptions('UTC'), paused: true }).stop();
  } catch (err) {
    throw new CronError(err instanceof Error ? err.message.replace(/^CronPattern: /, '') : 'Invalid cron expression');
  }
  return { expression };
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
