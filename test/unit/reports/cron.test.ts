import { describe, expect, it } from 'vitest';
import { CronError, cronerPattern, firesMoreThanHourly, nextRuns, parseEventBridgeCron } from '#reports/delivery/cron';

/** Each field as EventBridge Scheduler's grammar has it: values, names, and only the wildcards the field takes. */
describe('EventBridge cron grammar, field by field', () => {
  const refused: Array<[string, string]> = [
    ['day-of-week 8', '0 0 ? * 8 *'],
    ['day-of-week 0', '0 0 ? * 0 *'],
    ['day-of-week range past 7', '0 0 ? * 2-8 *'],
    ['day-of-week range backwards', '0 0 ? * FRI-MON *'],
    ['day-of-week with /', '0 0 ? * 1/2 *'],
    ['day-of-week W', '0 0 ? * 2W *'],
    ['# in a list', '0 0 ? * 3#1,6#3 *'],
    ['#6', '0 0 ? * MON#6 *'],
    ['#0', '0 0 ? * 2#0 *'],
    ['8L', '0 0 ? * 8L *'],
    ['unknown weekday name', '0 0 ? * SUNDAY *'],
    ['day-of-month 0', '0 0 0 * ? *'],
    ['day-of-month 32W', '0 0 32W * ? *'],
    ['day-of-month L-3', '0 0 L-3 * ? *'],
    ['L in a list', '0 0 L,1 * ? *'],
    ['day-of-month #', '0 0 1#2 * ? *'],
    ['step over the field', '0 0 */40 * ? *'],
    ['step 0', '0/0 * * * ? *'],
    ['minute 60', '60 0 * * ? *'],
    ['hour 24', '0 24 * * ? *'],
    ['month 13', '0 0 1 13 ? *'],
    ['month name in minutes', 'JAN 0 1 * ? *'],
    ['? in hours', '0 ? 1 * ? *'],
    ['L in hours', '0 L 1 * ? *'],
    ['year 1969', '0 0 1 * ? 1969'],
    ['year 2200', '0 0 1 * ? 2200'],
    ['year range backwards', '0 0 1 * ? 2030-2026'],
    ['empty list item', '0,,5 0 1 * ? *'],
    ['negative', '-1 0 1 * ? *'],
    ['both days given', '0 0 1 * MON *'],
    ['both days ?', '0 0 ? * ? *'],
    ['five fields', '0 0 1 * ?'],
  ];
  it.each(refused)('refuses %s: %s', (_name, expression) => {
    expect(() => parseEventBridgeCron(expression)).toThrow(CronError);
  });

  it('names the field and what it may hold', () => {
    expect(() => parseEventBridgeCron('0 0 ? * 8 *')).toThrow(
      'Field 5 (day-of-week) "8" is not valid: values 1-7 or SUN-SAT (1 = Sunday), wildcards , - * ? L #',
    );
  });

  const accepted = [
    '0 0 ? * 7 *',
    '0 0 ? * SUN-SAT *',
    '0 0 ? * mon-fri *',
    '0 0 ? * 1,3,5 *',
    '0 0 ? * L *',
    '0 0 ? * 6L *',
    '0 0 ? * 3#2 *',
    '0 0 ? * MON#1 *',
    '0 0 L * ? *',
    '0 0 LW * ? *',
    '0 0 15W * ? *',
    '0 0 1/7 * ? *',
    '0 0 1 JAN-MAR ? *',
    '0 0 1 */3 ? *',
    '1/10 * * * ? *',
    '*/5 * * * ? *',
    '0 0 1 * ? 2026-2030',
    '0 0 1 * ? 2026/2',
  ];
  it.each(accepted)('accepts %s', (expression) => {
    expect(parseEventBridgeCron(expression).expression).toBe(expression);
  });

  it('a day-of-week L is the last day of the week, Saturday', () => {
    expect(cronerPattern('0 6 ? * L *')).toBe('0 0 6 ? * 7 *');
    expect(nextRuns('0 6 ? * L *', 'UTC', 1, new Date('2026-11-25T00:00:00Z'))[0]?.toISOString()).toBe(
      '2026-11-28T06:00:00.000Z',
    );
  });
});

describe('firesMoreThanHourly', () => {
  const from = new Date('2026-01-01T00:00:00Z');
  const cases: Array<[string, string, boolean]> = [
    ['0 * * * ? *', 'UTC', false],
    ['0 * * * ? *', 'Europe/Berlin', false],
    ['30 * * * ? *', 'America/New_York', false],
    ['0 6 ? * MON *', 'Europe/Berlin', false],
    ['5/60 * * * ? *', 'UTC', false],
    ['0,30 * * * ? *', 'UTC', true],
    ['0,30 6 * * ? *', 'UTC', true],
    ['0/30 6 * * ? *', 'UTC', true],
    ['*/5 * * * ? *', 'UTC', true],
    ['0-1 6 1 * ? *', 'UTC', true],
    ['* 6 1 * ? *', 'UTC', true],
    // Half-hour summer time: 01:45 at +11 and, half an hour later, 01:45 at +10:30 after the clocks go back.
    ['45 * * * ? *', 'Australia/Lord_Howe', true],
    ['15 * * * ? *', 'Australia/Lord_Howe', false],
  ];
  it.each(cases)('%s in %s: %s', (expression, zone, expected) => {
    expect(firesMoreThanHourly(expression, zone, from)).toBe(expected);
  });
});
