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
    times: 'alle Zeiten in UTC',
  },
  en: {
    page: (x: number, y: number) => `Page ${x} of ${y}`,
    generated: 'Generated',
    by: 'by',
    filters: 'Filters',
    none: 'none',
    rows: 'rows',
    times: 'all times in UTC',
  },
} as const satisfies Record<Lang, unknown>;

const pad = (n: number) => String(n).padStart(2, '0');

/** Dates as people in that language read them; always UTC, and said so. */
export function formatDate(d: Date, lang: Lang): string {
  const y = d.getUTCFullYear();
  const m = pad(d.getUTCMonth() + 1);
  const day = pad(d.getUTCDate());
  return lang === 'de' ? `${day}.${m}.${y}` : `${y}-${m}-${day}`;
}

/** `withSeconds: false` is the compact form for table cells (the front matter says the times are UTC). */
export function formatDateTime(d: Date, lang: Lang, withSeconds = true): string {
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return withSeconds
    ? `${formatDate(d, lang)} ${time}:${pad(d.getUTCSeconds())} UTC`
    : `${formatDate(d, lang)} ${time}`;
}

const numberFormats: Record<Lang, Intl.NumberFormat> = {
  de: new Intl.NumberFormat('de-DE', { maximumFractionDigits: 3 }),
  en: new Intl.NumberFormat('en-GB', { maximumFractionDigits: 3 }),
};

export const formatNumber = (n: number, lang: Lang) => numberFormats[lang].format(n);
