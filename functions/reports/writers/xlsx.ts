import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import { FRAME_LABELS, formatDateTime, wallClock } from './labels';
import { type Cell, type Column, quoted, type ReportMeta, type TableWriter, writableText } from './table';

const NUMBER_FORMAT: Record<Column['type'], string | undefined> = {
  text: undefined,
  number: undefined,
  date: 'yyyy-mm-dd',
  datetime: 'yyyy-mm-dd hh:mm:ss',
};

/**
 * XLSX text escapes (ECMA-376 §22.4.2.4): a CR would be read back as LF by every XML parser, so it is written
 * `_x000D_`; text that already looks like such an escape has its underscore escaped (`_x005F_`), so it reads back
 * as written.
 */
const xlsxText = (text: string) => text.replace(/_(x[0-9A-Fa-f]{4}_)/g, '_x005F_$1').replace(/\r/g, '_x000D_');

/**
 * A text cell as an inline rich-text string (`<is><r><t xml:space="preserve">`): exceljs writes plain strings as
 * `t="str"` with `<v>`, a formula-result type whose leading and trailing spaces readers drop.
 */
const textValue = (text: string): ExcelJS.CellRichTextValue => ({ richText: [{ text: xlsxText(text) }] });

interface XmlStream {
  openNode(name: string, attributes?: unknown): void;
  addAttribute(name: string, value: string): void;
}

interface StyleInternals {
  addStyleModel(model: Partial<ExcelJS.Style> & { quotePrefix?: boolean }, cellType?: unknown): number;
  map: { style: { render(xmlStream: XmlStream, model: unknown): void } };
}

/**
 * exceljs has no quote-prefix style: this writer's style table carries `quotePrefix` from the style object to
 * the `<xf>` it renders (and the `<xf>` XML, which exceljs deduplicates by, holds it). Instance-level, so no other
 * workbook is touched.
 */
function supportQuotePrefix(workbook: ExcelJS.stream.xlsx.WorkbookWriter): void {
  const styles = (workbook as unknown as { styles: StyleInternals }).styles;
  const addStyleModel = styles.addStyleModel.bind(styles);
  const xf = styles.map.style;
  const render = xf.render.bind(xf);
  let quoteNext = false;
  styles.addStyleModel = (model, cellType) => {
    if (!model?.quotePrefix) return addStyleModel(model, cellType);
    // The <xf> is rendered inside addStyleModel (to find a duplicate); mark that rendering.
    quoteNext = true;
    try {
      return addStyleModel(model, cellType);
    } finally {
      quoteNext = false;
    }
  };
  xf.render = (xmlStream, model) => {
    const m = model as { protection?: unknown; quotePrefix?: boolean };
    if (quoteNext) m.quotePrefix = true;
    if (m.quotePrefix) {
      const original = xmlStream.openNode.bind(xmlStream);
      // quotePrefix goes with the other attributes of <xf>, before its child elements.
      xmlStream.openNode = (name, attributes) => {
        original(name, attributes);
        if (name === 'xf') xmlStream.addAttribute('quotePrefix', '1');
      };
      try {
        render(xmlStream, model);
      } finally {
        xmlStream.openNode = original;
      }
      return;
    }
    render(xmlStream, model);
  };
}

/**
 * XLSX through exceljs' streaming `WorkbookWriter`: each row is committed (written to the zip stream and
 * forgotten) as it comes, so 100 000 rows stay within a Lambda's memory. Numbers and dates are typed
 * cells; text is always a string cell (never a formula) and kept exactly (spaces, CR); text a spreadsheet would
 * read as a formula gets the quote-prefix style (`quoted`). Bold frozen header with an auto-filter, printed
 * landscape, fit to the page width, the header row repeated on every page. Date-times show the wall clock of the
 * report's zone, which the headers name. A second sheet and the document properties say what the report is,
 * who generated it when, from which filters, and how many rows it has.
 */
export class XlsxWriter implements TableWriter {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly sheet: ExcelJS.Worksheet;
  private readonly cellStyles: Partial<ExcelJS.Style>[];
  private readonly quotedStyles: Partial<ExcelJS.Style>[];
  private readonly meta: ReportMeta;
  private readonly zone: string;
  private rows = 0;

  constructor(
    private readonly out: Writable,
    private readonly columns: readonly Column[],
    meta: ReportMeta | string,
  ) {
    this.meta =
      typeof meta === 'string'
        ? { title: meta, lang: 'de', generatedAt: new Date(), generatedBy: 'charge-records', filters: [] }
        : meta;
    this.zone = this.meta.timeZone ?? 'UTC';
    this.cellStyles = columns.map((c) => {
      const numFmt = NUMBER_FORMAT[c.type];
      return numFmt ? { numFmt } : {};
    });
    this.quotedStyles = this.cellStyles.map((s) => ({ ...s, quotePrefix: true }) as Partial<ExcelJS.Style>);
    this.workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    supportQuotePrefix(this.workbook);
    this.sheet = this.workbook.addWorksheet(sheetName(this.meta.title), {
      views: [{ state: 'frozen', ySplit: 1 }],
      pageSetup: {
        orientation: 'landscape',
        paperSize: 9,
        fitToPage: true,
        fitToWidth: 1,
        fitToHeight: 0,
        printTitlesRow: '1:1',
      },
      headerFooter: { oddFooter: `&L${footerText(this.meta.title)}&R&P / &N` },
    });
    this.sheet.columns = columns.map((c) => ({ key: c.key, width: c.width }));
    this.sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
    const header = this.sheet.addRow(
      columns.map((c) => textValue(writableText(c.type === 'datetime' ? `${c.header} (${this.zone})` : c.header))),
    );
    header.eachCell((cell) => {
      cell.style = { font: { bold: true } };
    });
    header.commit();
  }

  addRow(cells: readonly Cell[]): void {
    const quote: boolean[] = [];
    const values = this.columns.map((column, i) => {
      const cell = cells[i] ?? null;
      if (typeof cell === 'string') {
        const q = quoted(cell);
        quote[i] = q.quote;
        return textValue(q.text);
      }
      if (cell instanceof Date && column.type === 'datetime') return wallClock(cell, this.zone);
      return cell;
    });
    const row = this.sheet.addRow(values);
    // exceljs gives every cell a fresh style object and renders it to XML to find its style id, unless it
    // has seen that very object before (a WeakMap): one shared object per column makes that a lookup.
    row.eachCell((cell, col) => {
      cell.style = (quote[col - 1] ? this.quotedStyles : this.cellStyles)[col - 1] as Partial<ExcelJS.Style>;
    });
    row.commit();
    this.rows += 1;
  }

  async finish(): Promise<void> {
    this.sheet.commit();
    const { meta } = this;
    const labels = FRAME_LABELS[meta.lang];
    const filters = meta.filters.length === 0 ? labels.none : meta.filters.map(([k, v]) => `${k} = ${v}`).join('; ');
    const generated = formatDateTime(meta.generatedAt, meta.lang, this.zone);
    const about = this.workbook.addWorksheet(labels.report, {
      pageSetup: { orientation: 'portrait', paperSize: 9, fitToPage: true, fitToWidth: 1, fitToHeight: 0 },
    });
    about.columns = [{ width: 18 }, { width: 80 }];
    const block: [string, string | number][] = [
      [labels.title, meta.title],
      [labels.generated, generated],
      [labels.by, meta.generatedBy],
      [labels.filters, filters],
      [labels.rows, this.rows],
      [labels.zone, this.zone],
    ];
    for (const [label, value] of block) {
      const row = about.addRow([
        textValue(writableText(label)),
        typeof value === 'number' ? value : textValue(writableText(value)),
      ]);
      row.getCell(1).style = { font: { bold: true } };
      row.commit();
    }
    about.commit();
    // Document properties (File → Properties): the same, for whoever opens the file without reading the sheet.
    const props = this.workbook as unknown as Record<string, unknown>;
    props.title = meta.title;
    props.creator = meta.generatedBy;
    props.lastModifiedBy = meta.generatedBy;
    props.subject = `${labels.filters}: ${filters}`;
    props.description = `${labels.generated}: ${generated} ${labels.by} ${meta.generatedBy}; ${labels.filters}: ${filters}; ${labels.rows}: ${this.rows}; ${labels.times(this.zone)}`;
    props.keywords = `rows=${this.rows}`;
    props.created = meta.generatedAt;
    props.modified = meta.generatedAt;
    await this.workbook.commit();
    await finished(this.out);
  }
}

const sheetName = (title: string) =>
  title
    .slice(0, 31)
    .replace(/[[\]:*?/\\']/g, ' ')
    .trim() || 'Report';
/** `&` starts a header/footer code; doubled it prints itself. */
const footerText = (title: string) => writableText(title).replaceAll('&', '&&').slice(0, 200);
