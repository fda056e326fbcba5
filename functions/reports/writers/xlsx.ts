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
 * cells; text is always a string cell (never a formula) and neutralised like CSV, judged on the text
 * exceljs will write (`neutralise`); bold frozen header with an auto-filter.
 */
export class XlsxWriter implements TableWriter {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly sheet: ExcelJS.Worksheet;
  private readonly cellStyles: Partial<ExcelJS.Style>[];

  constructor(
    private readonly out: Writable,
    private readonly columns: readonly Column[],
    sheetName: string,
  ) {
    this.cellStyles = columns.map((c) => {
      const numFmt = NUMBER_FORMAT[c.type];
      return numFmt ? { numFmt } : {};
    });
    this.workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    this.sheet = this.workbook.addWorksheet(sheetName.slice(0, 31).replace(/[[\]:*?/\\]/g, ' '), {
      views: [{ state: 'frozen', ySplit: 1 }],
    });
    this.sheet.columns = columns.map((c) => ({ key: c.key, width: c.width }));
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
    const row = this.sheet.addRow(values);
    // exceljs gives every cell a fresh style object and renders it to XML to find its style id, unless it
    // has seen that very object before (a WeakMap): one shared object per column makes that a lookup.
    row.eachCell((cell, col) => {
      cell.style = this.cellStyles[col - 1] as Partial<ExcelJS.Style>;
    });
    row.commit();
  }

  async finish(): Promise<void> {
    this.sheet.commit();
    await this.workbook.commit();
    await finished(this.out);
  }
}
