/**
 * The tabular model every export writer (CSV, XLSX, PDF) consumes: typed columns and rows of cells.
 * Writers know nothing about charges or audit records; the report definitions map records to rows.
 */
export type CellType = 'text' | 'number' | 'date' | 'datetime';

/** `date` and `datetime` cells are `Date` (UTC); numbers are numbers; text is text; null is empty. */
export type Cell = string | number | Date | null;

export interface Column {
  readonly key: string;
  /** Header text in the report's language. */
  readonly header: string;
  readonly type: CellType;
  /** Width in characters (XLSX column width; relative weight in the PDF table). */
  readonly width: number;
}

export type Lang = 'de' | 'en';

/** The interface of the three streaming writers: rows in, file out. */
export interface TableWriter {
  /** Returns a promise only when the caller has to wait (the output is applying back-pressure). */
  addRow(cells: readonly Cell[]): Promise<void> | void;
  /** Writes the rest of the file and resolves when the output stream has finished. */
  finish(): Promise<void>;
}

/**
 * OWASP CSV injection / ASVS 5 §1.2.10: a text cell a spreadsheet would read as a formula (or that starts
 * with a control character it strips first) gets a leading apostrophe, so it stays text.
 */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', '\n'].map((c) => c.charCodeAt(0)));

/** A lookup on the first character, not a regular expression: it runs for every text cell of an export. */
export function neutralise(text: string): string {
  return FORMULA_START.has(text.charCodeAt(0)) ? `'${text}` : text;
}

export const isoDate = (d: Date) => d.toISOString().slice(0, 10);
export const isoDateTime = (d: Date) => d.toISOString();

/** `YYYY-MM-DD` → the UTC midnight it names (what spreadsheets show as that date). */
export function dateCell(value: string | undefined | null): Date | null {
  if (!value) return null;
  // ECMAScript reads a date-only ISO string as UTC midnight; date-times carry their own offset.
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}
