import { randomBytes } from 'node:crypto';
import fontkit from '@pdf-lib/fontkit';
import { type PDFDict, PDFDocument, type PDFFont, type PDFPage, PDFRawStream, type PDFRef, rgb } from 'pdf-lib';
import { loadFonts } from './fonts';
import { FRAME_LABELS, formatDate, formatDateTime, formatNumber } from './labels';
import type { Cell, Column, ReportMeta, TableWriter } from './table';

/** `ABCDEF`: a font subset's tag, different per subset of a document. */
const subsetTag = () => Array.from(randomBytes(6), (b) => String.fromCharCode(65 + (b % 26))).join('');

/** A4 in PDF points. */
const A4: [number, number] = [595.28, 841.89];
const MARGIN = 36;
const FOOTER_SPACE = 28;
const BODY_SIZE = 7.5;
const HEADER_SIZE = 8;
const TITLE_SIZE = 15;
const CELL_PAD = 3;
const LINE_FACTOR = 1.25;
const GREY = rgb(0.35, 0.35, 0.35);
const RULE = rgb(0.75, 0.75, 0.75);
const HEADER_FILL = rgb(0.9, 0.92, 0.95);

export interface PdfMeta extends ReportMeta {
  landscape?: boolean;
  /** A line under the title in red (a deleted charge's report says so at the top). */
  notice?: string;
  /** Whether the front matter counts the table rows (a list: yes; the Chargenbericht has no one row count). */
  countRows?: boolean;
}

/** The smallest body text a table shrinks to so that its identifiers fit on one line. */
const MIN_BODY_SIZE = 5;

/** Character advance widths cached per font: measuring through fontkit's layout per word is the slow part. */
class Measure {
  private readonly widths = new Map<string, number>();
  constructor(private readonly font: PDFFont) {}

  width(text: string, size: number): number {
    let total = 0;
    for (const ch of text) {
      let w = this.widths.get(ch);
      if (w === undefined) {
        w = this.font.widthOfTextAtSize(ch, 1000);
        this.widths.set(ch, w);
      }
      total += w;
    }
    return (total * size) / 1000;
  }
}

interface FontkitGlyph {
  id: number;
  advanceWidth: number;
}
interface FontkitFont {
  layout(text: string, features?: unknown): { glyphs: FontkitGlyph[] };
  glyphForCodePoint(codePoint: number): FontkitGlyph;
  hasGlyphForCodePoint(codePoint: number): boolean;
  createSubset(): object;
}

interface SubsetInternals {
  glyf: Uint8Array[];
  offset: number;
  _addGlyph(gid: number): number;
}

const PADDED = Symbol('padded glyphs');

/**
 * fontkit's TrueType subset copies each glyph's bytes as they are and, when the subset is small, writes the short
 * `loca` format, which stores offsets halved: Noto Sans has glyphs of odd length, so every glyph after one of them
 * pointed a byte off and most letters vanished. Each copied glyph is padded to four bytes (as the format
 * recommends), so every offset is exact. Patched on fontkit's subset class, once.
 */
function padSubsetGlyphs(font: PDFFont): void {
  const proto = Object.getPrototypeOf(fontkitFont(font).createSubset()) as SubsetInternals & { [PADDED]?: true };
  if (proto[PADDED]) return;
  const addGlyph = proto._addGlyph;
  proto._addGlyph = function (this: SubsetInternals, gid: number): number {
    const index = addGlyph.call(this, gid);
    const glyph = this.glyf[index] as Uint8Array;
    const pad = (4 - (glyph.length % 4)) % 4;
    if (pad > 0) {
      // fontkit's bundle has a Buffer class of its own; its stream takes nothing else.
      const FontkitBuffer = glyph.constructor as typeof Buffer;
      this.glyf[index] = FontkitBuffer.concat([glyph, FontkitBuffer.alloc(pad)]);
      this.offset += pad;
    }
    return index;
  };
  proto[PADDED] = true;
}

const fontkitFont = (font: PDFFont) => (font as unknown as { embedder: { font: FontkitFont } }).embedder.font;

/**
 * pdf-lib asks fontkit to lay out every string it draws or measures, and fontkit's full OpenType shaping
 * of Noto Sans costs a few hundred microseconds a call: 30 s and more for a 10 000-row table. Table text
 * needs no ligatures or kerning, so layout becomes one cached cmap lookup per code point (text is NFC,
 * so Latin accents are precomposed glyphs). pdf-lib only reads `glyphs` (id, advanceWidth) of the result.
 * The font object is pdf-lib's internal embedder font, hence the structural cast.
 */
function useCmapLayout(font: PDFFont): void {
  const fk = fontkitFont(font);
  const cache = new Map<number, FontkitGlyph>();
  fk.layout = (text: string) => {
    const glyphs: FontkitGlyph[] = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0) as number;
      let glyph = cache.get(cp);
      if (glyph === undefined) {
        glyph = fk.glyphForCodePoint(cp);
        cache.set(cp, glyph);
      }
      glyphs.push(glyph);
    }
    return { glyphs };
  };
}

/** Printable ASCII and Latin-1/Extended-A/B, all in Noto Sans: a cell of only these needs no glyph lookups. */
const COVERED = /^[\n\x20-\x7E\xA0-\u024F]*$/;
/** What a character the font lacks is drawn as: the first of these the font has (Noto Sans has U+FFFD). */
const REPLACEMENTS = ['\uFFFD', '?'];

/**
 * Text as the font can draw it. Control characters would be drawn as boxes (or break the content stream):
 * line breaks (CR, CRLF) become LF, tabs spaces, any other control character a visible U+FFFD. A character Noto Sans has no glyph for (CJK, emoji…) would come out as
 * nothing, and a batch record that looks empty misleads: it becomes a visible U+FFFD instead. Invisible
 * format characters the font lacks (variation selectors, say) are dropped, since they draw nothing anyway.
 */
function printable(font: PDFFont): (text: string) => string {
  const fk = fontkitFont(font);
  const replacement = REPLACEMENTS.find((r) => fk.hasGlyphForCodePoint(r.codePointAt(0) as number)) ?? '';
  const known = new Map<string, string>();
  const substitute = (ch: string): string => {
    let out = known.get(ch);
    if (out === undefined) {
      if (fk.hasGlyphForCodePoint(ch.codePointAt(0) as number)) out = ch;
      else out = /\p{Default_Ignorable_Code_Point}/u.test(ch) ? '' : replacement;
      known.set(ch, out);
    }
    return out;
  };
  return (text) => {
    const cleaned = text
      .normalize('NFC')
      // Noto Sans has no arrows; the one the reports use gets its ASCII form.
      .replaceAll('→', '->')
      .replace(/\r\n?/g, '\n')
      .replace(/\t/g, ' ')
      // Any other control character is shown as U+FFFD, as the CSV and XLSX exports show it: never dropped.
      .replace(/[^\P{Cc}\n]/gu, '\uFFFD');
    return COVERED.test(cleaned) ? cleaned : cleaned.replace(/[^\n\x20-\x7E\xA0-\u024F]/gu, substitute);
  };
}

/**
 * A report PDF (pdf-lib, Noto Sans embedded through fontkit, so any Latin text renders — `Ł`, `ő`, `Æ`):
 * title, generation time and author, filters, then key/value blocks and tables that break across pages
 * with their header repeated; "Seite x von y" / "Page x of y" on every page. pdf-lib keeps the whole
 * document in memory, which is why PDF list exports cap the row count (PDF_MAX_ROWS).
 */
export class PdfReport {
  private page!: PDFPage;
  private y = 0;
  private readonly size: [number, number];
  private readonly regularMeasure: Measure;
  private readonly boldMeasure: Measure;
  /** Both faces of Noto Sans cover the same characters. */
  private readonly clean: (text: string) => string;

  private constructor(
    private readonly doc: PDFDocument,
    private readonly regular: PDFFont,
    private readonly bold: PDFFont,
    private readonly meta: PdfMeta,
  ) {
    this.size = meta.landscape ? [A4[1], A4[0]] : A4;
    this.regularMeasure = new Measure(regular);
    this.boldMeasure = new Measure(bold);
    this.clean = printable(regular);
  }

  static async create(meta: PdfMeta): Promise<PdfReport> {
    const doc = await PDFDocument.create();
    doc.registerFontkit(fontkit);
    const fonts = await loadFonts();
    // Subsets: only the glyphs the document draws (a few KB instead of ≈ 300 KB per face), named with the
    // six-letter subset tag PDF readers expect (ISO 32000-1 §9.6.4), which pdf-lib leaves out.
    const regular = await doc.embedFont(fonts.regular, { subset: true, customName: `${subsetTag()}+NotoSans-Regular` });
    const bold = await doc.embedFont(fonts.bold, { subset: true, customName: `${subsetTag()}+NotoSans-Bold` });
    padSubsetGlyphs(regular);
    useCmapLayout(regular);
    useCmapLayout(bold);
    doc.setTitle(meta.title);
    doc.setCreator('charge-records');
    doc.setProducer('charge-records (pdf-lib)');
    doc.setCreationDate(meta.generatedAt);
    doc.setLanguage(meta.lang === 'de' ? 'de-DE' : 'en-GB');
    const report = new PdfReport(doc, regular, bold, meta);
    report.newPage();
    report.drawFrontMatter();
    return report;
  }

  private get width() {
    return this.size[0] - 2 * MARGIN;
  }

  /**
   * pdf-lib keeps every drawing operator of every page as objects until `save`: tens of thousands per
   * table page. A finished page's content stream is compressed to its bytes now and the objects dropped
   * (the footer, drawn later, goes into a second content stream of the page). Internals of PDFPage, hence
   * the structural cast.
   */
  private seal(page: PDFPage | undefined): void {
    const internals = page as unknown as
      { contentStream?: { dict: PDFDict; getContents(): Uint8Array }; contentStreamRef?: PDFRef } | undefined;
    const stream = internals?.contentStream;
    const ref = internals?.contentStreamRef;
    if (!internals || !stream || !ref) return;
    this.doc.context.assign(ref, PDFRawStream.of(stream.dict, stream.getContents()));
    internals.contentStream = undefined;
    internals.contentStreamRef = undefined;
  }

  private newPage(): void {
    this.seal(this.page);
    this.page = this.doc.addPage(this.size);
    this.y = this.size[1] - MARGIN;
  }

  /** Starts a new page when fewer than `height` points are left above the footer; true if it did. */
  private ensure(height: number): boolean {
    if (this.y - height >= MARGIN + FOOTER_SPACE) return false;
    this.newPage();
    return true;
  }

  private text(s: string, x: number, size: number, font: PDFFont, color = rgb(0, 0, 0)) {
    this.page.drawText(s, { x, y: this.y - size, size, font, color });
  }

  private get zone(): string {
    return this.meta.timeZone ?? 'UTC';
  }

  private drawFrontMatter(): void {
    const labels = FRAME_LABELS[this.meta.lang];
    for (const line of this.wrap(this.meta.title, this.width, TITLE_SIZE, true)) {
      this.text(line, MARGIN, TITLE_SIZE, this.bold);
      this.y -= TITLE_SIZE * LINE_FACTOR;
    }
    this.y -= 4;
    if (this.meta.notice) {
      for (const line of this.wrap(this.meta.notice, this.width, 11, true)) {
        this.text(line, MARGIN, 11, this.bold, rgb(0.75, 0, 0));
        this.y -= 11 * LINE_FACTOR;
      }
      this.y -= 2;
    }
    const generated = `${labels.generated}: ${formatDateTime(this.meta.generatedAt, this.meta.lang, this.zone)} ${labels.by} ${this.meta.generatedBy} · ${labels.times(this.zone)}`;
    this.paragraph(generated, { color: GREY });
    const filters =
      this.meta.filters.length === 0 ? labels.none : this.meta.filters.map(([k, v]) => `${k} = ${v}`).join('; ');
    this.paragraph(`${labels.filters}: ${filters}`, { color: GREY });
    if (this.meta.countRows !== false) {
      // The row count is known only at the end: its line is kept free here and drawn by `toBytes`.
      this.rowsLine = { page: this.page, y: this.y };
      this.y -= 9 * LINE_FACTOR;
    }
    this.y -= 8;
  }

  private rowsLine: { page: PDFPage; y: number } | undefined;
  /** Rows of the document's tables, printed under the filters. */
  private rowCount = 0;

  /** Greedy word wrap; a word wider than the line is broken by characters. Keeps explicit line breaks. */
  wrap(text: string, maxWidth: number, size: number, bold = false): string[] {
    const measure = bold ? this.boldMeasure : this.regularMeasure;
    const lines: string[] = [];
    for (const para of this.clean(text).split('\n')) {
      let line = '';
      for (const word of para.split(/(?<= )/)) {
        const candidate = line + word;
        if (measure.width(candidate.trimEnd(), size) <= maxWidth) {
          line = candidate;
          continue;
        }
        if (line !== '') lines.push(line.trimEnd());
        line = '';
        for (const ch of word) {
          if (line !== '' && measure.width(line + ch, size) > maxWidth) {
            lines.push(line);
            line = '';
          }
          line += ch;
        }
      }
      lines.push(line.trimEnd());
    }
    return lines;
  }

  heading(text: string): void {
    const size = 11;
    this.ensure(size * LINE_FACTOR + 20);
    this.y -= 6;
    this.text(this.clean(text), MARGIN, size, this.bold);
    this.y -= size * LINE_FACTOR + 4;
  }

  paragraph(text: string, options: { size?: number; color?: ReturnType<typeof rgb> } = {}): void {
    const size = options.size ?? 9;
    for (const line of this.wrap(text, this.width, size)) {
      this.ensure(size * LINE_FACTOR);
      this.text(line, MARGIN, size, this.regular, options.color);
      this.y -= size * LINE_FACTOR;
    }
  }

  /** Label/value pairs in two columns (the charge details of a Chargenbericht). */
  keyValues(pairs: readonly (readonly [string, string])[]): void {
    const size = 9;
    const labelWidth = Math.min(150, this.width * 0.3);
    for (const [label, value] of pairs) {
      const lines = this.wrap(value === '' ? '–' : value, this.width - labelWidth, size);
      lines.forEach((line, i) => {
        this.ensure(size * LINE_FACTOR);
        if (i === 0) this.text(this.clean(label), MARGIN, size, this.bold);
        this.text(line, MARGIN + labelWidth, size, this.regular);
        this.y -= size * LINE_FACTOR;
      });
      this.y -= 2;
    }
  }

  /**
   * A table that continues on new pages with its header repeated; a row taller than what is left of a page
   * continues on the next one. A list cell shows at most `maxCellLines` lines and says it was cut (`…`); the
   * default is every line. An unbreakable column (identifiers) is as wide as its widest value in `rows` and never
   * wraps: if the page is too narrow for them, the table's text gets smaller, never the value shorter.
   */
  table(
    columns: readonly Column[],
    options: { maxCellLines?: number; rows?: readonly (readonly Cell[])[] } = {},
  ): TableWriter {
    const lang = this.meta.lang;
    const zone = this.zone;
    const format = (cell: Cell, column: Column): string => {
      if (cell === null || cell === undefined) return '';
      if (cell instanceof Date)
        return column.type === 'date' ? formatDate(cell, lang) : formatDateTime(cell, lang, zone);
      if (typeof cell === 'number') return formatNumber(cell, lang);
      return cell;
    };
    const { widths, bodySize } = this.columnWidths(columns, options.rows ?? [], format);
    const maxLines = options.maxCellLines ?? Number.POSITIVE_INFINITY;
    const lineHeight = bodySize * LINE_FACTOR;
    const headerSize = Math.min(HEADER_SIZE, bodySize + 0.5);

    const headerLines = columns.map((c, i) =>
      this.wrap(c.header, (widths[i] as number) - 2 * CELL_PAD, headerSize, true),
    );
    const headerHeight = Math.max(...headerLines.map((l) => l.length)) * headerSize * LINE_FACTOR + 2 * CELL_PAD;

    const drawHeader = () => {
      this.page.drawRectangle({
        x: MARGIN,
        y: this.y - headerHeight,
        width: this.width,
        height: headerHeight,
        color: HEADER_FILL,
      });
      let x = MARGIN;
      headerLines.forEach((lines, i) => {
        lines.forEach((line, j) => {
          this.page.drawText(line, {
            x: x + CELL_PAD,
            y: this.y - CELL_PAD - (j + 1) * headerSize * LINE_FACTOR + 2,
            size: headerSize,
            font: this.bold,
          });
        });
        x += widths[i] as number;
      });
      this.y -= headerHeight;
    };

    const rule = () =>
      this.page.drawLine({
        start: { x: MARGIN, y: this.y },
        end: { x: MARGIN + this.width, y: this.y },
        thickness: 0.4,
        color: RULE,
      });

    this.ensure(headerHeight + lineHeight + 2 * CELL_PAD);
    drawHeader();

    return {
      addRow: (cells) => {
        this.rowCount += 1;
        const lines = columns.map((c, i) => {
          const text = format(cells[i] ?? null, c);
          if (c.unbreakable) return this.clean(text).split('\n');
          // Numbers and dates were measured into the column's width; one wider than that (no rows given) wraps
          // at its spaces like text.
          if (c.type !== 'text') {
            const lines = this.clean(text).split('\n');
            const room = (widths[i] as number) - 2 * CELL_PAD;
            if (lines.every((l) => this.regularMeasure.width(l, bodySize) <= room)) return lines;
          }
          const all = this.wrap(text, (widths[i] as number) - 2 * CELL_PAD, bodySize);
          if (all.length <= maxLines) return all;
          const kept = all.slice(0, maxLines);
          kept[maxLines - 1] = `${kept[maxLines - 1]}…`;
          return kept;
        });
        const total = Math.max(1, ...lines.map((l) => l.length));
        const full = total * lineHeight + 2 * CELL_PAD;
        // A row that fits a page starts on one where it fits whole; a longer one starts here and continues.
        const pageBody = this.size[1] - 2 * MARGIN - FOOTER_SPACE - headerHeight;
        if (this.ensure(full <= pageBody ? full : lineHeight + 2 * CELL_PAD)) drawHeader();
        // Draw as many lines as fit on this page, then go on with the rest on the next one.
        let from = 0;
        for (;;) {
          const room = Math.floor((this.y - MARGIN - FOOTER_SPACE - 2 * CELL_PAD) / lineHeight);
          const to = Math.min(total, from + Math.max(1, room));
          let x = MARGIN;
          lines.forEach((cellLines, i) => {
            const right = columns[i]?.type === 'number';
            cellLines.slice(from, to).forEach((line, j) => {
              const w = widths[i] as number;
              const lx = right ? x + w - CELL_PAD - this.regularMeasure.width(line, bodySize) : x + CELL_PAD;
              this.page.drawText(line, {
                x: lx,
                y: this.y - CELL_PAD - (j + 1) * lineHeight + 2,
                size: bodySize,
                font: this.regular,
              });
            });
            x += widths[i] as number;
          });
          this.y -= (to - from) * lineHeight + 2 * CELL_PAD;
          from = to;
          if (from >= total) break;
          this.newPage();
          drawHeader();
        }
        rule();
      },
      finish: async () => {
        this.y -= 6;
      },
    };
  }

  /**
   * Widths in proportion to the columns' weights, but never narrower than the longest word of the header,
   * the column's `fit` value or — for an unbreakable column — its widest value (a word or an id broken mid-way
   * is unreadable); the slack comes out of the wider columns. When the unbreakable minimums alone are wider than
   * the page, the body text gets smaller (down to MIN_BODY_SIZE) until they fit.
   */
  private columnWidths(
    columns: readonly Column[],
    rows: readonly (readonly Cell[])[],
    format: (cell: Cell, column: Column) => string,
  ): { widths: number[]; bodySize: number } {
    const widest = columns.map((c, i) => {
      // Numbers and dates are read whole too: measured like identifiers.
      const whole = c.unbreakable || c.type !== 'text';
      if (!whole) return c.fit ? this.regularMeasure.width(c.fit, 1) : 0;
      let max = 0;
      for (const row of rows) {
        for (const line of this.clean(format(row[i] ?? null, c)).split('\n')) {
          max = Math.max(max, this.regularMeasure.width(line, 1));
        }
      }
      return max;
    });
    const headerMin = columns.map((c) => Math.max(...c.header.split(/\s+/).map((w) => this.boldMeasure.width(w, 1))));
    let bodySize = BODY_SIZE;
    const minimum = (size: number) =>
      columns.map(
        (_, i) =>
          Math.max((headerMin[i] as number) * Math.min(HEADER_SIZE, size + 0.5), (widest[i] as number) * size) +
          2 * CELL_PAD +
          1,
      );
    let mins = minimum(bodySize);
    while (mins.reduce((a, b) => a + b, 0) > this.width && bodySize > MIN_BODY_SIZE) {
      bodySize = Math.max(MIN_BODY_SIZE, bodySize - 0.25);
      mins = minimum(bodySize);
    }
    const total = columns.reduce((sum, c) => sum + c.width, 0);
    let widths = columns.map((c) => (c.width / total) * this.width);
    for (let round = 0; round < 8; round++) {
      const raised = widths.map((w, i) => Math.max(w, mins[i] as number));
      const excess = raised.reduce((a, b) => a + b, 0) - this.width;
      if (excess <= 0.01) return { widths: raised, bodySize };
      const slack = raised.map((w, i) => w - (mins[i] as number));
      const slackTotal = slack.reduce((a, b) => a + b, 0);
      if (slackTotal <= 0) return { widths: raised, bodySize };
      widths = raised.map((w, i) => w - (excess * (slack[i] as number)) / slackTotal);
    }
    return { widths: widths.map((w, i) => Math.max(w, mins[i] as number)), bodySize };
  }

  /** Page numbers and the footer go on last, when the page count is known. */
  async toBytes(): Promise<Uint8Array> {
    const labels = FRAME_LABELS[this.meta.lang];
    const pages = this.doc.getPages();
    const size = 7.5;
    if (this.rowsLine) {
      this.rowsLine.page.drawText(`${labels.rows}: ${formatNumber(this.rowCount, this.meta.lang)}`, {
        x: MARGIN,
        y: this.rowsLine.y - 9,
        size: 9,
        font: this.regular,
        color: GREY,
      });
    }
    pages.forEach((page, i) => {
      const label = labels.page(i + 1, pages.length);
      const y = MARGIN - 14;
      page.drawText(label, {
        x: this.size[0] - MARGIN - this.regularMeasure.width(label, size),
        y,
        size,
        font: this.regular,
        color: GREY,
      });
      const left = this.wrap(this.meta.title, this.width * 0.6, size)[0] ?? '';
      page.drawText(left, { x: MARGIN, y, size, font: this.regular, color: GREY });
      page.drawLine({
        start: { x: MARGIN, y: y + size + 4 },
        end: { x: this.size[0] - MARGIN, y: y + size + 4 },
        thickness: 0.4,
        color: RULE,
      });
    });
    return this.doc.save({ useObjectStreams: true });
  }
}

/** A list export as a PDF: front matter and one table; `finish` writes the document to `out`. */
export async function pdfTableWriter(
  out: NodeJS.WritableStream,
  columns: readonly Column[],
  meta: PdfMeta,
  /** The rows to come, when known: unbreakable columns are sized to their widest value. */
  rows: readonly (readonly Cell[])[] = [],
): Promise<TableWriter> {
  const report = await PdfReport.create({ landscape: true, ...meta });
  const table = report.table(columns, { maxCellLines: 4, rows });
  return {
    addRow: (cells) => table.addRow(cells),
    finish: async () => {
      await table.finish();
      const bytes = await report.toBytes();
      await new Promise<void>((resolve, reject) => {
        out.write(bytes, (err) => (err ? reject(err) : resolve()));
      });
      await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}
