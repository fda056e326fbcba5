/**
 * One export in its own process, so its peak RSS is its own: used by the reports benchmark and by the
 * 100 000-row tests. Prints one JSON line: {mode, format, rows, bytes, seconds, maxRssMB, out}.
 *
 *   tsx scripts/bench/report-child.ts <pipeline|bare> <csv|xlsx|pdf> <rows> [outFile]
 *
 * - pipeline: the production path (buildExport: paged source → projection → our streaming writer → file);
 *   rows are generated page by page, as DynamoDB would hand them over, so memory stays bounded;
 * - bare: the library alone writing the same rows from an in-memory array (the floor to compare with).
 */
import { copyFileSync, createWriteStream, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import fontkit from '@pdf-lib/fontkit';
import ExcelJS from 'exceljs';
import { PDFDocument } from 'pdf-lib';
import type { Charge } from '#charges/model';
import type { ChargeStore } from '#charges/store';
import { buildExport } from '#reports/export';
import { fontsDir } from '#reports/writers/fonts';

const [mode = 'pipeline', format = 'csv', rowsArg = '1000', outArg] = process.argv.slice(2);
const total = Number(rowsArg);
const out = outArg ?? `/tmp/report-child-${process.pid}.${format}`;
const NOTES = ['', 'Łódź Größe Ærø', 'Probe entnommen; =HYPERLINK("http://x")', 'Line one\nline two, with "quotes"'];

function charge(i: number): Charge {
  const day = String(1 + (i % 28)).padStart(2, '0');
  const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  return {
    chargeId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    articleId: `ART-${i % 500}`,
    quantity: 1000 + (i % 997) / 8,
    unit: 'kg',
    productionDate: `2026-03-${day}`,
    expiryDate: `2027-03-${day}`,
    status: 'released',
    notes: NOTES[i % NOTES.length] as string,
    version: 1 + (i % 5),
    createdAt: at,
    createdBy: { userId: 'u1', username: 'anna' },
    updatedAt: at,
    updatedBy: { userId: 'u2', username: 'bernd' },
  };
}

const started = performance.now();
let bytes: number;

if (mode === 'pipeline') {
  // The list port, paging like the DynamoDB repository: 500 charges a page, made when asked for.
  const store: Pick<ChargeStore, 'list'> = {
    list: async (filter) => {
      const from = filter.cursor ? Number(filter.cursor) : 0;
      const to = Math.min(total, from + filter.limit);
      const items = [];
      // Built key by key, as the SDK's unmarshall builds items (a spread literal gives V8's slower object shape).
      for (let i = from; i < to; i++) items.push(Object.assign(charge(i), { requestId: 'r', reason: null }));
      return { items, nextCursor: to < total ? String(to) : null };
    },
  };
  const file = await buildExport(
    {
      spec: { kind: 'charges', filter: {} },
      format: format as 'csv',
      lang: 'de',
      title: 'Benchmark',
      generatedAt: new Date(),
      generatedBy: 'bench',
      filterLabels: [],
    },
    { charges: store, audit: { search: async () => ({ items: [], nextCursor: null }) } },
  ).catch((err: unknown) => {
    // A refused export (EXPORT_TOO_LARGE) is a result too: report it and the memory it took to get there.
    const code = (err as { code?: string }).code ?? 'ERROR';
    console.log(
      JSON.stringify({
        mode,
        format,
        rows: total,
        error: code,
        seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
        maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      }),
    );
    process.exit(2);
  });
  copyFileSync(file.path, out);
  bytes = file.bytes;
  await file.cleanup();
} else {
  const rows = Array.from({ length: total }, (_, i) => charge(i));
  // The same 13 columns as the export (the charge's fields), values as the records hold them.
  const header = [
    'chargeId',
    'articleId',
    'quantity',
    'unit',
    'productionDate',
    'expiryDate',
    'status',
    'notes',
    'version',
    'createdAt',
    'createdBy',
    'updatedAt',
    'updatedBy',
  ];
  const values = (c: Charge) => [
    c.chargeId,
    c.articleId,
    c.quantity,
    c.unit,
    c.productionDate,
    c.expiryDate ?? '',
    c.status,
    c.notes ?? '',
    c.version,
    c.createdAt,
    c.createdBy.username,
    c.updatedAt,
    c.updatedBy.username,
  ];
  if (format === 'csv') {
    const stream = createWriteStream(out);
    stream.write(`${header.join(',')}\r\n`);
    for (const c of rows) {
      const line = values(c).map((v) =>
        typeof v === 'string' && /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v),
      );
      if (!stream.write(`${line.join(',')}\r\n`)) await new Promise<void>((r) => stream.once('drain', () => r()));
    }
    stream.end();
    await finished(stream);
  } else if (format === 'xlsx') {
    const stream = createWriteStream(out);
    // The same typed cells the export writes (dates as dates, with a date format), nothing more.
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useStyles: true, useSharedStrings: false });
    const ws = wb.addWorksheet('Bench');
    const dateColumns = new Map([
      [4, 'yyyy-mm-dd'],
      [5, 'yyyy-mm-dd'],
      [9, 'yyyy-mm-dd hh:mm:ss'],
      [11, 'yyyy-mm-dd hh:mm:ss'],
    ]);
    // One style object per column, assigned to each cell: exceljs' fast path (a fresh style per cell is
    // serialised every time; our writer does the same).
    const styles = header.map((_, i) => (dateColumns.has(i) ? { numFmt: dateColumns.get(i) } : {}));
    ws.addRow(header).commit();
    for (const c of rows) {
      const row = ws.addRow(values(c).map((v, i) => (dateColumns.has(i) && v ? new Date(v as string) : v)));
      row.eachCell((cell, col) => {
        cell.style = styles[col - 1] as Partial<ExcelJS.Style>;
      });
      row.commit();
    }
    ws.commit();
    await wb.commit();
  } else {
    const doc = await PDFDocument.create();
    doc.registerFontkit(fontkit);
    const font = await doc.embedFont(await readFile(`${fontsDir()}/NotoSans-Regular.ttf`), { subset: false });
    // The PDF list's default columns leave out createdAt/createdBy, as the export does.
    const widths = [150, 55, 50, 25, 50, 50, 45, 150, 30, 0, 0, 70, 45];
    let page = doc.addPage([841.89, 595.28]);
    let y = 560;
    for (const c of rows) {
      if (y < 50) {
        page = doc.addPage([841.89, 595.28]);
        y = 560;
      }
      let x = 36;
      values(c).forEach((v, i) => {
        if (widths[i] === 0) return;
        page.drawText(String(v).replace(/\n/g, ' ').slice(0, 40), { x, y, size: 7.5, font });
        x += widths[i] as number;
      });
      y -= 13;
    }
    const pdf = await doc.save({ useObjectStreams: true });
    const stream = createWriteStream(out);
    stream.end(pdf);
    await finished(stream);
  }
  bytes = statSync(out).size;
}

console.log(
  JSON.stringify({
    mode,
    format,
    rows: total,
    bytes,
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    out,
  }),
);
