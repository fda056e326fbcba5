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
  /** The longest value of a closed set (a status): a PDF table keeps it on one line rather than break it mid-word. */
  readonly fit?: string;
  /** An identifier (charge id, lot number, article id): a PDF never breaks or cuts it; the layout gives way instead. */
  readonly unbreakable?: boolean;
}

/** What every report says about itself: what it is, who made it when, from which filters, in which zone. */
export interface ReportMeta {
  title: string;
  lang: Lang;
  generatedAt: Date;
  generatedBy: string;
  /** Filter name → value as printed; an empty list prints "none". */
  filters: readonly (readonly [string, string])[];
  /** IANA zone the report's times are printed in (default UTC). */
  timeZone?: string;
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
 * Characters an XLSX cannot hold: C0 controls other than tab, LF and CR, U+FFFE/U+FFFF and lone surrogates
 * (XML 1.0), and DEL, which exceljs drops as well. exceljs strips them silently when it writes a cell, so
 * `"\u0001=HYPERLINK(…)"` passed the first-character check and came out as `=HYPERLINK(…)`.
 */
// eslint-disable-next-line no-control-regex
const UNWRITABLE = /[\0-\x08\x0B\x0C\x0E-\x1F\x7F\uFFFE\uFFFF\uD800-\uDFFF]/;
const UNWRITABLE_ALL =
  // eslint-disable-next-line no-control-regex
  /[\0-\x08\x0B\x0C\x0E-\x1F\x7F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const REPLACEMENT = '\uFFFD';

/**
 * The text as a spreadsheet will hold it: each unwritable character becomes U+FFFD rather than vanishing,
 * so `"admin\u0000"` cannot pass for `admin` in an audit export, and CSV and XLSX show the same text.
 * The plain test comes first: almost every cell has none of these, and it costs one scan.
 */
export function writableText(text: string): string {
  return UNWRITABLE.test(text) ? text.replace(UNWRITABLE_ALL, REPLACEMENT) : text;
}

/**
 * OWASP CSV injection / ASVS 5 §1.2.10: a text cell a spreadsheet would read as a formula gets a leading
 * apostrophe, so it stays text. The rule judges the text that is written (after `writableText`), never
 * the raw input: a character dropped on the way cannot hide the `=` behind it.
 */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', '\n'].map((c) => c.charCodeAt(0)));

/**
 * A formula behind what a reader does not see, or a spreadsheet skips: whitespace (`\s` holds NBSP, U+3000, U+2028/
 * U+2029 and U+FEFF), zero-width characters (U+200B–U+200D, U+2060–U+2064, U+180E) and bidi marks and controls
 * (U+200E/U+200F, U+061C, U+202A–U+202E, U+2066–U+2069). `" =1+1"` is as much a formula as `"=1+1"`.
 */
const HIDDEN_FORMULA = /^[\s\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069]+[=+\-@]/;

/** A lookup on the first character first: it runs for every text cell of an export, and most start visibly. */
export function neutralise(text: string): string {
  const written = writableText(text);
  const first = written.charCodeAt(0);
  if (FORMULA_START.has(first)) return `'${written}`;
  // Printable ASCII other than the space cannot lead a hidden formula: no pattern for them.
  if (first > 0x20 && first < 0x7f) return written;
  return HIDDEN_FORMULA.test(written) ? `'${written}` : written;
}

/**
 * The XLSX form of the same rule: the text as written, and whether it needs the quote prefix. The cell's
 * quote-prefix style (`quotePrefix="1"`) keeps it text when a person edits it, without putting an apostrophe
 * into the value, so the value reads back as the API has it.
 */
export function quoted(text: string): { text: string; quote: boolean } {
  const written = writableText(text);
  return { text: written, quote: neutralise(written) !== written };
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
