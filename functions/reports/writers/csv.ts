import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type Cell, type Column, isoDate, isoDateTime, neutralise, type TableWriter } from './table';

const BOM = '\uFEFF';
const CRLF = '\r\n';
/** Rows are joined into chunks of about this size before they are written (fewer, larger writes). */
const CHUNK_CHARS = 64 * 1024;

/** RFC 4180: a field with a quote, comma or line break is quoted, quotes doubled. */
function quote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function field(cell: Cell, column: Column): string {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return column.type === 'date' ? isoDate(cell) : isoDateTime(cell);
  if (typeof cell === 'number') return String(cell);
  return quote(neutralise(cell));
}

/**
 * CSV per RFC 4180 (CRLF line ends, header row), UTF-8 with a BOM so spreadsheet programs pick the
 * encoding; text that would start a formula is neutralised, after the characters an XLSX cannot hold became
 * U+FFFD (`neutralise`), so CSV and XLSX hold the same text. Streams: memory stays flat for any row count.
 */
export class CsvWriter implements TableWriter {
  private pending = '';

  constructor(
    private readonly out: Writable,
    private readonly columns: readonly Column[],
  ) {
    this.pending = BOM + columns.map((c) => quote(neutralise(c.header))).join(',') + CRLF;
  }

  addRow(cells: readonly Cell[]): Promise<void> | undefined {
    const { columns } = this;
    let line = field(cells[0] ?? null, columns[0] as Column);
    for (let i = 1; i < columns.length; i++) line += `,${field(cells[i] ?? null, columns[i] as Column)}`;
    this.pending += line + CRLF;
    return this.pending.length >= CHUNK_CHARS ? this.flush() : undefined;
  }

  async finish(): Promise<void> {
    await this.flush();
    this.out.end();
    await finished(this.out);
  }

  private async flush(): Promise<void> {
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    if (!this.out.write(chunk, 'utf8')) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }
}
