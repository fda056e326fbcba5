/**
 * Dashboards as the API describes them: a widget is a chart type, an analytics query and its place on a
 * 24-column grid. Shared with the chart component, which only draws.
 */
export const WIDGET_TYPES = ['kpi', 'line', 'bar', 'stacked_bar', 'pie', 'table'] as const;
export type WidgetType = (typeof WIDGET_TYPES)[number];
export const GRID_COLUMNS = 24;

export interface Widget {
  id: string;
  title: string;
  type: WidgetType;
  query: { endpoint: 'charges' | 'qa'; params: Record<string, string> };
  layout: { x: number; y: number; w: number; h: number };
}

export interface Dashboard {
  id: string;
  title: string;
  owner: { userId: string; username: string };
  shared: boolean;
  widgets: Widget[];
  version: number;
}

export interface DashboardList {
  items: Dashboard[];
}

export interface SeriesAnswer {
  series: { key: string; points: { t: string; value: number | null }[] }[];
}

/** Text a spreadsheet would run as a formula, after leading blanks and invisible marks: prefixed with `'`. */
const FORMULA = /^[\s\u00a0\u3000\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*[=+\-@\t\r\n]/;

function cell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = FORMULA.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A widget's data as CSV (RFC 4180, UTF-8 with BOM): one row per period, one column per series. */
export function seriesCsv(data: SeriesAnswer): string {
  const times = [...new Set(data.series.flatMap((s) => s.points.map((p) => p.t)))].sort();
  const rows = [['period', ...data.series.map((s) => s.key)].map(cell).join(',')];
  for (const t of times)
    rows.push([t, ...data.series.map((s) => s.points.find((p) => p.t === t)?.value ?? null)].map(cell).join(','));
  return `\ufeff${rows.join('\r\n')}\r\n`;
}
