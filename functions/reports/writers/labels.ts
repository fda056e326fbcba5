import type { Lang } from './table';

/** Fixed texts of the report frame, German by default. */
export const FRAME_LABELS = {
  de: {
    page: (x: number, y: number) => `Seite ${x} von ${y}`,
    generated: 'Erstellt',
    by: 'von',
    filters: 'Filter',
    none: 'keine',
    rows: 'Zeilen',
    times: (zone: string) => `alle Zeiten in ${zone}`,
    zone: 'Zeitzone',
    report: 'Bericht',
    title: 'Titel',
  },
  en: {
    page: (x: number, y: number) => `Page ${x} of ${y}`,
    generated: 'Generated',
    by: 'by',
    filters: 'Filters',
    none: 'none',
    rows: 'Rows',
    times: (zone: string) => `all times in ${zone}`,
    zone: 'Time zone',
    report: 'Report',
    title: 'Title',
  },
} as const satisfies Record<Lang, unknown>;

/** Status names as a reader of that language says them; the API value stays the key. */
export const STATUS_LABELS: Record<Lang, Record<string, string>> = {
  de: {
    in_production: 'In Produktion',
    quarantine: 'Quarantäne',
    released: 'Freigegeben',
    rejected: 'Abgelehnt',
    blocked: 'Gesperrt',
  },
  en: {
    in_production: 'In production',
    quarantine: 'Quarantine',
    released: 'Released',
    rejected: 'Rejected',
    blocked: 'Blocked',
  },
};

export const statusLabel = (status: string, lang: Lang) => STATUS_LABELS[lang][status] ?? status;

const pad = (n: number) => String(n).padStart(2, '0');

/** The wall-clock fields of `d` in `timeZone` (an IANA name; UTC by default). */
export function zonedParts(d: Date, timeZone = 'UTC') {
  if (timeZone === 'UTC') {
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      offsetMinutes: 0,
    };
  }
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(d)
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  const offsetMinutes = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
  return { ...parts, offsetMinutes };
}

/** `UTC`, or the offset from it: `UTC+01:00`. */
export function offsetLabel(offsetMinutes: number): string {
  if (offsetMinutes === 0) return 'UTC';
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The same instant as a `Date` whose UTC fields are the wall clock in `timeZone`: what a spreadsheet date cell
 * (which has no zone) must hold to show the local time its header names.
 */
export function wallClock(d: Date, timeZone = 'UTC'): Date {
  if (timeZone === 'UTC') return d;
  const p = zonedParts(d, timeZone);
  return new Date(Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, d.getUTCMilliseconds()));
}

/** A calendar date as people in that language read it (dates carry no zone). */
export function formatDate(d: Date, lang: Lang): string {
  const y = d.getUTCFullYear();
  const m = pad(d.getUTCMonth() + 1);
  const day = pad(d.getUTCDate());
  return lang === 'de' ? `${day}.${m}.${y}` : `${y}-${m}-${day}`;
}

/** An instant to the second, in `timeZone`, with the offset it had there: `07.12.2026 13:00:00 UTC+01:00`. */
export function formatDateTime(d: Date, lang: Lang, timeZone = 'UTC'): string {
  const p = zonedParts(d, timeZone);
  const date = lang === 'de' ? `${pad(p.day)}.${pad(p.month)}.${p.year}` : `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  return `${date} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)} ${offsetLabel(p.offsetMinutes)}`;
}

const numberFormats: Record<Lang, Intl.NumberFormat> = {
  de: new Intl.NumberFormat('de-DE', { maximumFractionDigits: 3 }),
  en: new Intl.NumberFormat('en-GB', { maximumFractionDigits: 3 }),
};

export const formatNumber = (n: number, lang: Lang) => numberFormats[lang].format(n);
