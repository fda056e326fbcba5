import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import { type Cell, type Column, neutralise, type TableWriter } from './table';

const NUMBER_FORMAT: Record<Column['type'], string | undefined> = {
  text: undefined,
  number: undefined,
  date: 'yyyy-mm-dd',
  datetime: 'yyyy-mm-dd hh:mm:ss',
};

/**
 * XLSX through exceljs' streaming `WorkbookWriter`: each row is committed (written to the zip stream and
 * forgotten) as it comes, so 100 000 rows stay within a Lambda's memory. Numbers and dates are typed
 * cells; text is always a string cell (never a formula) and neutralised like CSV; bold frozen header
 * with an auto-filter.
 */
export class XlsxWriter implements TableWriter {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly sheet: ExcelJS.Worksheet;

  constructor(
    private readonly out: Writable,
    private readonly columns: readonly Column[],
    sheetName: string,
  ) {
    this.workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    this.sheet = this.workbook.addWorksheet(sheetName.slice(0, 31).replace(/[[\]:*?/\\]/g, ' '), {
      views: [{ state: 'frozen', ySplit: 1 }],
    });
    // The date formats live on the columns: exceljs gives each new cell its column's style, which is far
    // cheaper than styling 100 000 cells one by one.
    this.sheet.columns = columns.map((c) => {
      const numFmt = NUMBER_FORMAT[c.type];
      return { key: c.key, width: c.width, ...(numFmt ? { style: { numFmt } } : {}) };
    });
    this.sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
    const header = this.sheet.addRow(columns.map((c) => neutralise(c.header)));
    header.eachCell((cell) => {
      cell.style = { font: { bold: true } };
    });
    header.commit();
  }

  addRow(cells: readonly Cell[]): void {
    const values = this.columns.map((_, i) => {
      const cell = cells[i] ?? null;
      return typeof cell === 'string' ? neutralise(cell) : cell;
    });
    this.sheet.addRow(values).commit();
  }

  async finish(): Promise<void> {
    this.sheet.commit();
    await this.workbook.commit();
    await finished(this.out);
  }
}
