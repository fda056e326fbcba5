import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';
import { afterAll, describe, expect, it } from 'vitest';
import type { Charge } from '#charges/model';
import { chargeProjection } from '#reports/columns';
import { CsvWriter } from '#reports/writers/csv';
import { PdfReport, pdfTableWriter } from '#reports/writers/pdf';
import { type Cell, type Column, neutralise, type TableWriter } from '#reports/writers/table';
import { XlsxWriter } from '#reports/writers/xlsx';

const dir = mkdtempSync(join(tmpdir(), 'report-writers-'));

/**
 * XLSX keeps text as written and marks a cell a spreadsheet would read as a formula with the quote-prefix style
 * (no apostrophe in the value): the column-E cells of the first sheet, in row order, with whether they have it.
 */
function quotePrefixedNotes(file: string): boolean[] {
  const sheet = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml']).toString('utf8');
  const styles = execFileSync('unzip', ['-p', file, 'xl/styles.xml']).toString('utf8');
  const xfs = [...(/<cellXfs[^>]*>(.*?)<\/cellXfs>/s.exec(styles)?.[1] ?? '').matchAll(/<xf [^>]*?\/?>/g)].map(
    (m) => m[0],
  );
  return [...sheet.matchAll(/<c r="E(\d+)"(?: s="(\d+)")?/g)]
    .slice(1)
    .map((m) => (xfs[Number(m[2] ?? 0)] ?? '').includes('quotePrefix="1"'));
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COLUMNS: Column[] = [
  { key: 'id', header: 'Charge', type: 'text', width: 20 },
  { key: 'qty', header: 'Menge', type: 'number', width: 10 },
  { key: 'day', header: 'Herstelldatum', type: 'date', width: 14 },
  { key: 'at', header: 'Geändert am', type: 'datetime', width: 20 },
  { key: 'notes', header: 'Bemerkungen', type: 'text', width: 40 },
];

const HOSTILE = ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tTab', '\rCR', '\nLF'];

const rows: Cell[][] = [
  [
    'c-1',
    12.5,
    new Date('2026-03-01T00:00:00Z'),
    new Date('2026-03-02T10:20:30Z'),
    'Łódź, Größe; Ærø "zitiert"\nzweite Zeile',
  ],
  ['c-2', 0.125, new Date('2026-03-05T00:00:00Z'), new Date('2026-03-05T23:59:59Z'), null],
  ...HOSTILE.map((text, i): Cell[] => [`h-${i}`, -1 - i, null, null, text]),
];

async function write(
  file: string,
  make: (
    out: NodeJS.WritableStream & import('node:stream').Writable,
  ) => Promise<{ addRow(c: readonly Cell[]): unknown; finish(): Promise<void> }>,
) {
  const out = createWriteStream(file);
  const writer = await make(out);
  for (const row of rows) await writer.addRow(row);
  await writer.finish();
  return readFileSync(file);
}

describe('neutralise', () => {
  it('prefixes every formula-starting character and nothing else', () => {
    for (const text of HOSTILE) expect(neutralise(text)).toBe(`'${text}`);
    for (const text of ['plain', 'a=b', '1-2', 'ü@x', ' x', '\u00a0a=b', '\u200bplain', '']) {
      expect(neutralise(text)).toBe(text);
    }
  });
});

/** A formula behind characters a reader does not see or a spreadsheet skips: each lead, before each formula start. */
const INVISIBLE_LEADS: Array<[string, string]> = [
  ['space', ' '],
  ['three spaces', '   '],
  ['tab after a space', ' \t'],
  ['NBSP', '\u00a0'],
  ['narrow NBSP', '\u202f'],
  ['ideographic space', '\u3000'],
  ['en quad', '\u2000'],
  ['zero-width space', '\u200b'],
  ['zero-width non-joiner', '\u200c'],
  ['zero-width joiner', '\u200d'],
  ['word joiner', '\u2060'],
  ['BOM', '\ufeff'],
  ['line separator', '\u2028'],
  ['paragraph separator', '\u2029'],
  ['left-to-right mark', '\u200e'],
  ['right-to-left mark', '\u200f'],
  ['Arabic letter mark', '\u061c'],
  ['right-to-left override', '\u202e'],
  ['left-to-right embedding', '\u202a'],
  ['first-strong isolate', '\u2068'],
  ['pop directional isolate', '\u2069'],
  ['a mix', ' \u200b\u00a0\ufeff\u202e\u3000'],
];
const FORMULA_STARTS = ['=1+1', '+1+1', '-2+3', '@SUM(A1)', '=HYPERLINK("http://evil.example/x","Open")'];
const INVISIBLE_CASES = INVISIBLE_LEADS.flatMap(([name, lead]) =>
  FORMULA_STARTS.map((formula): [string, string] => [`${name} before ${formula}`, `${lead}${formula}`]),
);

describe('formulas behind leading whitespace and invisible characters', () => {
  it.each(INVISIBLE_CASES)('%s is neutralised', (_name, text) => {
    expect(neutralise(text)).toBe(`'${text}`);
  });

  it('CSV and XLSX cells hold them neutralised', async () => {
    const texts = INVISIBLE_CASES.map(([, text]) => text);
    const write = async (file: string, make: (out: import('node:stream').Writable) => TableWriter) => {
      const writer = make(createWriteStream(file));
      for (const text of texts) await writer.addRow(['x', 1, null, null, text]);
      await writer.finish();
      return readFileSync(file);
    };
    const csv = await write(join(dir, 'invisible.csv'), (out) => new CsvWriter(out, COLUMNS));
    const csvNotes = (parse(csv.toString('utf8'), { bom: true }) as string[][]).slice(1).map((r) => r[4]);
    const xlsx = await write(join(dir, 'invisible.xlsx'), (out) => new XlsxWriter(out, COLUMNS, 'Chargen'));
    const xlsxNotes = (await readSheet(xlsx, { trim: false })).slice(1).map((r) => r[4]);
    expect(csvNotes).toEqual(texts.map((t) => `'${t}`));
    // XLSX: the value as written, kept text by the quote-prefix style.
    expect(xlsxNotes).toEqual(texts);
    expect(quotePrefixedNotes(join(dir, 'invisible.xlsx'))).toEqual(texts.map(() => true));
  });
});

/**
 * A formula behind a character the file cannot hold: exceljs drops C0 controls (and DEL) when it writes a
 * cell, so the check has to judge the text as written, not the text as typed.
 */
const HIDDEN = [
  '\u0000=1+1',
  '\u000b+cmd',
  '\u001f@SUM(A1)',
  '\u0001=HYPERLINK("http://evil.example/x","Open")',
  '\u007f-2+3',
  '\uFFFE=1',
  '\uD800=1',
  '\u0000\u0001\u0002=1',
];
const FORMULA = /^[=+\-@\t\r\n]/;

async function writeHidden(
  file: string,
  make: (out: import('node:stream').Writable) => { addRow(c: readonly Cell[]): unknown; finish(): Promise<void> },
) {
  const out = createWriteStream(file);
  const writer = make(out);
  for (const text of HIDDEN) await writer.addRow(['x', 1, null, null, text]);
  await writer.finish();
  return readFileSync(file);
}

describe('formulas hidden behind a character the file cannot hold', () => {
  it('neutralise judges the written text: each such character becomes U+FFFD, never a formula start', () => {
    for (const text of HIDDEN) {
      const written = neutralise(text);
      expect(written).not.toMatch(FORMULA);
      // Nothing is left that exceljs would drop: the text checked is the text written.
      expect(
        [...written].filter((ch) => /^[\p{Cc}\uFFFE\uFFFF\uD800-\uDFFF]$/u.test(ch) && !'\t\n\r'.includes(ch)),
      ).toEqual([]);
    }
    expect(neutralise('\u0000=1+1')).toBe('\uFFFD=1+1');
    expect(neutralise('\uD800=1')).toBe('\uFFFD=1');
    // What may stay does stay: a surrogate pair, tab/LF/CR inside the text; a formula after them is still caught.
    expect(neutralise('😀=1')).toBe('😀=1');
    expect(neutralise('a\tb\nc\rd')).toBe('a\tb\nc\rd');
    expect(neutralise('\t=1')).toBe("'\t=1");
  });

  it('CSV and XLSX hold the same text, and no cell starts a formula', async () => {
    const csv = await writeHidden(join(dir, 'hidden.csv'), (out) => new CsvWriter(out, COLUMNS));
    const records = parse(csv.toString('utf8'), { bom: true }) as string[][];
    const csvNotes = records.slice(1).map((r) => r[4] as string);

    const file = join(dir, 'hidden.xlsx');
    await writeHidden(file, (out) => new XlsxWriter(out, COLUMNS, 'Chargen'));
    const xlsxNotes = (await readSheet(readFileSync(file))).slice(1).map((r) => r[4] as string);
    // The sheet XML itself: every string value as stored (what a spreadsheet's F2 + Enter would re-read).
    const sheet = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml']).toString('utf8');
    const stored = [...sheet.matchAll(/<(?:v|t)(?: [^>]*)?>([^<]*)<\/(?:v|t)>/g)].map((m) => m[1] as string);

    expect(csvNotes).toHaveLength(HIDDEN.length);
    expect(xlsxNotes).toEqual(csvNotes);
    expect(quotePrefixedNotes(file).some((q) => q)).toBe(false);
    for (const text of [...csvNotes, ...xlsxNotes, ...stored]) expect(text).not.toMatch(FORMULA);
    expect(sheet).not.toContain('<f>');
    expect(csvNotes[0]).toBe('\uFFFD=1+1');
    expect(csvNotes[3]).toBe('\uFFFD=HYPERLINK("http://evil.example/x","Open")');
  });
});

describe('CSV writer (read back with csv-parse)', () => {
  it('writes RFC 4180 with BOM and CRLF, round-trips text, neutralises formulas', async () => {
    const bytes = await write(join(dir, 'a.csv'), async (out) => new CsvWriter(out, COLUMNS));
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text.includes('\r\n')).toBe(true);
    const records = parse(text, { bom: true, relax_column_count: false }) as string[][];
    expect(records[0]).toEqual(['Charge', 'Menge', 'Herstelldatum', 'Geändert am', 'Bemerkungen']);
    expect(records[1]).toEqual([
      'c-1',
      '12.5',
      '2026-03-01',
      '2026-03-02T10:20:30.000Z',
      'Łódź, Größe; Ærø "zitiert"\nzweite Zeile',
    ]);
    expect(records[2]).toEqual(['c-2', '0.125', '2026-03-05', '2026-03-05T23:59:59.000Z', '']);
    HOSTILE.forEach((hostile, i) => {
      const record = records[3 + i] as string[];
      expect(record[4]).toBe(`'${hostile}`);
      // A negative number is a number, not text: it is written as it is.
      expect(record[1]).toBe(String(-1 - i));
    });
    expect(records).toHaveLength(1 + rows.length);
  });
});

describe('XLSX writer (read back with read-excel-file; sheet XML with unzip)', () => {
  it('types numbers and dates, neutralises text, and never writes a formula', async () => {
    const file = join(dir, 'a.xlsx');
    await write(file, async (out) => new XlsxWriter(out, COLUMNS, 'Chargen'));
    const data = await readSheet(readFileSync(file), { trim: false });
    expect(data[0]).toEqual(['Charge', 'Menge', 'Herstelldatum', 'Geändert am (UTC)', 'Bemerkungen']);
    const first = data[1] as unknown[];
    expect(first[1]).toBe(12.5);
    expect(first[2]).toBeInstanceOf(Date);
    expect((first[2] as Date).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect((first[3] as Date).toISOString()).toBe('2026-03-02T10:20:30.000Z');
    expect(first[4]).toBe('Łódź, Größe; Ærø "zitiert"\nzweite Zeile');
    HOSTILE.forEach((hostile, i) => {
      const row = data[3 + i] as unknown[];
      expect(row[4]).toBe(hostile);
      expect(row[1]).toBe(-1 - i);
    });
    // Row 3 has no notes (no cell); every hostile text is quote-prefixed, the plain one not.
    expect(quotePrefixedNotes(file)).toEqual([false, ...HOSTILE.map(() => true)]);

    const sheet = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml']).toString('utf8');
    expect(sheet).not.toContain('<f>');
    expect(sheet).toMatch(/<pane ySplit="1"[^>]*state="frozen"/);
    expect(sheet).toContain('<autoFilter ref="A1:E1"/>');
    expect(sheet).toMatch(/<col min="5" max="5" width="40"/);
    const styles = execFileSync('unzip', ['-p', file, 'xl/styles.xml']).toString('utf8');
    // The header row's style (s="1") is the bold font.
    expect(sheet).toMatch(/<c r="A1" s="(\d+)"/);
    const headerStyle = Number(/<c r="A1" s="(\d+)"/.exec(sheet)?.[1]);
    const xfs = [...(/<cellXfs[^>]*>(.*?)<\/cellXfs>/s.exec(styles)?.[1] ?? '').matchAll(/<xf [^>]*fontId="(\d+)"/g)];
    const fontId = Number(xfs[headerStyle]?.[1]);
    const fonts = [...(/<fonts[^>]*>(.*?)<\/fonts>/s.exec(styles)?.[1] ?? '').matchAll(/<font>(.*?)<\/font>/gs)];
    expect(fonts[fontId]?.[1]).toContain('<b/>');
  });
});

const pdftotext = (file: string, ...args: string[]) => execFileSync('pdftotext', [...args, file, '-']).toString('utf8');

describe('PDF writer (read back with pdftotext)', () => {
  it('renders Unicode text, the front matter, a repeated header and page numbers (German)', async () => {
    const file = join(dir, 'list.pdf');
    const out = createWriteStream(file);
    const writer = await pdfTableWriter(out, COLUMNS, {
      title: 'Chargenliste',
      lang: 'de',
      generatedAt: new Date('2026-11-25T08:09:10Z'),
      generatedBy: 'qm.müller',
      filters: [['Status', 'released']],
    });
    for (let i = 0; i < 120; i++)
      await writer.addRow([
        `c-${i}`,
        i + 0.5,
        new Date('2026-03-01T00:00:00Z'),
        new Date('2026-03-02T10:20:30Z'),
        i === 0 ? 'Łódź Größe Ærø' : `Zeile ${i}`,
      ]);
    await writer.finish();

    const page1 = pdftotext(file, '-f', '1', '-l', '1');
    expect(page1).toContain('Chargenliste');
    expect(page1).toContain('Erstellt: 25.11.2026 08:09:10 UTC von qm.müller');
    expect(page1).toContain('Filter: Status = released');
    expect(page1).toContain('Łódź Größe Ærø');
    expect(page1).toContain('0,5');
    expect(page1).toContain('01.03.2026');
    const pages = Number(/Seite 1 von (\d+)/.exec(page1)?.[1]);
    expect(pages).toBeGreaterThan(1);
    const last = pdftotext(file, '-f', String(pages), '-l', String(pages));
    expect(last).toContain(`Seite ${pages} von ${pages}`);
    // The header is repeated on the continuation page.
    expect(last).toContain('Herstelldatum');
    expect(last).toContain('Bemerkungen');
    expect(pdftotext(file)).toContain('Zeile 119');
  });

  it('speaks English with lang=en', async () => {
    const report = await PdfReport.create({
      title: 'Batch list',
      lang: 'en',
      generatedAt: new Date('2026-11-25T08:09:10Z'),
      generatedBy: 'qm',
      filters: [],
    });
    const table = report.table(COLUMNS);
    table.addRow(['c-1', 1234.5, new Date('2026-03-01T00:00:00Z'), null, 'x']);
    await table.finish();
    const file = join(dir, 'en.pdf');
    writeFileSync(file, await report.toBytes());
    const text = pdftotext(file);
    expect(text).toContain('Generated: 2026-11-25 08:09:10 UTC by qm');
    expect(text).toContain('Filters: none');
    expect(text).toContain('Page 1 of 1');
    expect(text).toContain('1,234.5');
    expect(text).toContain('2026-03-01');
  });
});

describe('PDF: characters Noto Sans has no glyph for', () => {
  const charge = (status: string, notes: string) =>
    ({
      chargeId: '00000000-0000-4000-8000-000000000001',
      articleId: 'ART-Łódź',
      quantity: 1,
      unit: 'kg',
      productionDate: '2026-03-01',
      status,
      notes,
      version: 1,
      updatedAt: '2026-03-02T10:20:30.000Z',
      updatedBy: { userId: 'u1', username: 'anna' },
    }) as unknown as Charge;

  it('are printed as a visible U+FFFD, not dropped; Latin text and whole status words stay (landscape list)', async () => {
    const keys = [
      'chargeId',
      'articleId',
      'quantity',
      'unit',
      'productionDate',
      'expiryDate',
      'status',
      'notes',
      'version',
      'updatedAt',
      'updatedBy',
    ];
    for (const lang of ['de', 'en'] as const) {
      const projection = chargeProjection(keys, lang);
      const file = join(dir, `glyphs-${lang}.pdf`);
      const out = createWriteStream(file);
      const writer = await pdfTableWriter(out, projection.columns, {
        title: 'Liste',
        lang,
        generatedAt: new Date(),
        generatedBy: 'qm',
        filters: [],
      });
      await writer.addRow(projection.row(charge('in_production', '测试 テスト 한국어')));
      await writer.addRow(projection.row(charge('quarantine', 'Test 😀 🚀 ❤️ Ende')));
      await writer.finish();
      const text = pdftotext(file);
      expect(text).toContain('\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD');
      // One replacement per missing character; the invisible variation selector after ❤ is not one.
      expect(text).toContain('Test \uFFFD \uFFFD \uFFFD Ende');
      expect(text).toContain('ART-Łódź');
      // The status column is wide enough for the longest status: never `in_producti` / `on`.
      expect(text).toContain('in_production');
    }
  });

  it('key/value blocks (the Chargenbericht) show the replacement too', async () => {
    const report = await PdfReport.create({
      title: 'Chargenbericht 测试',
      lang: 'de',
      generatedAt: new Date(),
      generatedBy: 'qm',
      filters: [],
    });
    report.keyValues([
      ['Bemerkungen', '测试 テスト 한국어'],
      ['Emoji', 'Test 😀'],
      ['Ort', 'Łódź'],
    ]);
    const file = join(dir, 'glyphs-kv.pdf');
    writeFileSync(file, await report.toBytes());
    const text = pdftotext(file);
    expect(text).toContain('Chargenbericht \uFFFD\uFFFD');
    expect(text).toContain('\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD');
    expect(text).toContain('Test \uFFFD');
    expect(text).toContain('Łódź');
  });
});

describe('date cells of a projection', () => {
  const charge = {
    chargeId: 'c-1',
    articleId: 'A',
    quantity: 1,
    unit: 'kg',
    productionDate: '2026-03-01',
    expiryDate: undefined,
    status: 'released',
    notes: '=1+1',
    version: 1,
    createdAt: '2026-03-02T10:20:30.000Z',
    createdBy: { userId: 'u1', username: 'anna' },
    // Not the canonical form our code writes: an offset, no milliseconds.
    updatedAt: '2026-03-02T12:20:30+02:00',
    updatedBy: { userId: 'u2', username: 'bernd' },
  } as unknown as Charge;
  const keys = ['productionDate', 'expiryDate', 'createdAt', 'updatedAt', 'notes'];

  it('are Dates for XLSX and PDF', () => {
    const [production, expiry, created, updated, notes] = chargeProjection(keys, 'de').row(charge);
    expect(production).toEqual(new Date('2026-03-01T00:00:00.000Z'));
    expect(expiry).toBeNull();
    expect(created).toEqual(new Date('2026-03-02T10:20:30.000Z'));
    expect(updated).toEqual(new Date('2026-03-02T10:20:30.000Z'));
    expect(notes).toBe('=1+1'); // neutralised by the writers, not the projection
  });

  it('are the canonical ISO text for CSV, the same text the Dates would print', () => {
    const [production, expiry, created, updated] = chargeProjection(keys, 'de', 'text').row(charge);
    expect(production).toBe('2026-03-01');
    expect(expiry).toBeNull();
    expect(created).toBe('2026-03-02T10:20:30.000Z');
    expect(updated).toBe('2026-03-02T10:20:30.000Z');
  });
});
