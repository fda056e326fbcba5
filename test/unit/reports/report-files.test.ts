/**
 * Report files read back with the tools people open them in: poppler (pdftotext, pdffonts, pdftoppm) for PDFs,
 * LibreOffice for XLSX, two mail parsers for the report mails.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fontkit from '@pdf-lib/fontkit';
import { parse } from 'csv-parse/sync';
import { simpleParser } from 'mailparser';
import { PDFDocument } from 'pdf-lib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Charge, ChargeState } from '#charges/model';
import { versionHash } from '#charges/signature';
import { chargeProjection, defaultColumns } from '#reports/columns';
import { encodedWords, toEml } from '#reports/delivery/mime';
import { NewDefinition } from '#reports/model';
import { chargeReportPdf } from '#reports/writers/chargenbericht';
import { loadFonts } from '#reports/writers/fonts';
import { pdfTableWriter } from '#reports/writers/pdf';
import type { Cell, Column } from '#reports/writers/table';
import { XlsxWriter } from '#reports/writers/xlsx';

const dir = mkdtempSync(join(tmpdir(), 'report-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const POPPLER = has('pdftotext') && has('pdffonts') && has('pdftoppm');
const SOFFICE = has('soffice');

const save = (name: string, bytes: Uint8Array | Buffer) => {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
};
const pdftotext = (file: string, layout = false) =>
  execFileSync('pdftotext', [...(layout ? ['-layout'] : []), file, '-']).toString('utf8');

/** LibreOffice, headless, one conversion at a time (its own profile): every sheet of the workbook as CSV. */
function sofficeCsv(xlsx: string): Record<string, string[][]> {
  const out = mkdtempSync(join(dir, 'lo-'));
  execFileSync(
    'soffice',
    [
      `-env:UserInstallation=file://${join(dir, 'lo-profile')}`,
      '--headless',
      '--convert-to',
      // UTF-8 (76), comma, quote, first line 1; the last -1: every sheet into a file of its own.
      'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1',
      '--outdir',
      out,
      xlsx,
    ],
    { stdio: 'ignore', timeout: 120_000 },
  );
  return Object.fromEntries(
    readdirSync(out).map((f) => [
      f.replace(/^.*?-(?=[^-]+\.csv$)/, '').replace(/\.csv$/, ''),
      parse(readFileSync(join(out, f), 'utf8'), { relax_column_count: true }) as string[][],
    ]),
  );
}

const unzip = (file: string, member: string) => execFileSync('unzip', ['-p', file, member]).toString('utf8');

function charge(i: number, extra: Partial<Charge> = {}): Charge {
  return {
    chargeId: randomUUID(),
    lotNumber: `2026-${String(i).padStart(5, '0')}`,
    articleId: `ART-${1000 + i}-Łódź`,
    quantity: 1234.567,
    unit: 'kg',
    productionDate: '2026-03-01',
    status: 'in_production',
    notes: 'Łódź Größe',
    version: 3,
    createdAt: '2026-03-01T10:00:00.000Z',
    createdBy: { userId: 'u1', username: 'olga' },
    updatedAt: '2026-03-01T10:00:00.000Z',
    updatedBy: { userId: 'u1', username: 'olga' },
    ...extra,
  } as Charge;
}

async function pdfList(name: string, charges: Charge[], lang: 'de' | 'en', keys = defaultColumns('charges', 'pdf')) {
  const projection = chargeProjection(keys, lang);
  const rows = charges.map((c) => projection.row(c));
  const file = join(dir, name);
  const writer = await pdfTableWriter(
    createWriteStream(file),
    projection.columns,
    {
      title: lang === 'de' ? 'Chargenliste' : 'Batch list',
      lang,
      generatedAt: new Date('2026-12-07T11:00:00Z'),
      generatedBy: 'qa.lead',
      filters: [['Status', 'in_production']],
      timeZone: 'Europe/Berlin',
    },
    rows,
  );
  for (const row of rows) await writer.addRow(row);
  await writer.finish();
  return file;
}

describe.skipIf(!POPPLER)('PDF lists (poppler)', { timeout: 120_000 }, () => {
  // skips only when poppler-utils is missing (.ci/run installs it)
  const charges = Array.from({ length: 290 }, (_, i) => charge(i));

  it.each(['de', 'en'] as const)(
    'an id, a lot number or an article id is never broken across lines (%s)',
    async (lang) => {
      const text = pdftotext(await pdfList(`ids-${lang}.pdf`, charges, lang));
      const lines = new Set(text.split('\n').map((l) => l.trim()));
      const whole = (value: string) => [...lines].some((line) => line.split(/\s+/).includes(value) || line === value);
      const broken = charges.flatMap((c) => [c.chargeId, c.lotNumber as string, c.articleId].filter((v) => !whole(v)));
      expect(broken).toEqual([]);
      expect(text).not.toContain('…');
    },
  );

  it('when the page is too narrow for the ids, the text gets smaller, never the id shorter', async () => {
    const long = Array.from({ length: 20 }, (_, i) =>
      charge(i, { articleId: `A${'X'.repeat(60)}${i}`, lotNumber: `LOT/${'9'.repeat(36)}/${i}` }),
    );
    const keys = ['lotNumber', 'chargeId', 'articleId', 'notes', 'quantity', 'status', 'updatedAt', 'updatedBy'];
    const text = pdftotext(await pdfList('narrow.pdf', long, 'de', keys));
    for (const c of long) {
      for (const value of [c.chargeId, c.lotNumber as string, c.articleId]) expect(text).toContain(value);
    }
  });

  it('says who generated it, when (with the zone), with which filters, and how many rows', async () => {
    const text = pdftotext(await pdfList('front.pdf', charges.slice(0, 30), 'de'));
    expect(text).toContain('Erstellt: 07.12.2026 12:00:00 UTC+01:00 von qa.lead');
    expect(text).toContain('alle Zeiten in Europe/Berlin');
    expect(text).toContain('Filter: Status = in_production');
    expect(text).toContain('Zeilen: 30');
    // Times in the table: the report's zone, to the second.
    expect(text).toContain('11:00:00');
  });

  it('embeds a subset of Noto Sans (pdffonts), small, that draws every letter as the whole font does', async () => {
    const file = await pdfList('fonts.pdf', charges, 'de');
    const fonts = execFileSync('pdffonts', [file]).toString('utf8').split('\n').slice(2).filter(Boolean);
    expect(fonts.length).toBeGreaterThan(0);
    for (const line of fonts) {
      // name type encoding emb sub uni: the name carries the subset tag and `sub` is yes.
      expect(line).toMatch(/^[A-Z]{6}\+NotoSans-\S+ .* yes yes yes /);
    }
    expect(readFileSync(file).length).toBeLessThan(300_000);

    // Rendering: the subset draws the same ink as the whole font, letter for letter (pdftoppm, grey levels).
    const sample = 'Łódź Ærø Größe hantrgils ŁĄĘŚŹŻ 0123456789';
    const ink = async (subset: boolean) => {
      const doc = await PDFDocument.create();
      doc.registerFontkit(fontkit);
      const font = await doc.embedFont((await loadFonts()).regular, { subset });
      doc.addPage([600, 60]).drawText(sample, { x: 10, y: 20, size: 20, font });
      const pdf = save(`ink-${subset}.pdf`, await doc.save());
      execFileSync('pdftoppm', ['-r', '72', '-gray', pdf, join(dir, `ink-${subset}`)]);
      const pgm = readFileSync(join(dir, `ink-${subset}-1.pgm`));
      let dark = 0;
      for (let i = pgm.length - 600 * 60; i < pgm.length; i++) if ((pgm[i] as number) < 128) dark++;
      return dark;
    };
    // Through the report writer (which pads fontkit's subset glyphs): the same ink as the whole font.
    const whole = await ink(false);
    expect(whole).toBeGreaterThan(1000);
    const viaWriter = await pdfList('ink-writer.pdf', [charge(1, { notes: sample })], 'de', ['notes']);
    expect(pdftotext(viaWriter)).toContain(sample);
    // The subset embedded by pdf-lib now (the writer's padding is installed on fontkit's subset class).
    expect(Math.abs((await ink(true)) - whole) / whole).toBeLessThan(0.02);
  });
});

// LibreOffice starts in seconds alone, in a minute or more on a busy machine.
describe.skipIf(!SOFFICE)('XLSX read back by LibreOffice (soffice --convert-to csv)', { timeout: 300_000 }, () => {
  // skips only when LibreOffice is missing (.ci/run installs libreoffice-calc-nogui)
  const texts = [
    '  leading',
    'trailing  ',
    'in  between',
    '-',
    '=1+1',
    '+49 30 1234',
    '@SUM(A1)',
    ' =1+1',
    'x_x000D_y',
    'a\r\nb',
    'Łódź Größe',
    'plain',
  ];
  const columns: Column[] = [
    { key: 'text', header: 'Text', type: 'text', width: 20 },
    { key: 'qty', header: 'Menge', type: 'number', width: 10 },
    { key: 'day', header: 'Herstelldatum', type: 'date', width: 14 },
    { key: 'at', header: 'Geändert am', type: 'datetime', width: 22 },
  ];
  let file: string;
  let sheets: Record<string, string[][]>;

  it('every value equals the API value; nothing gets an apostrophe or loses a space', async () => {
    file = join(dir, 'roundtrip.xlsx');
    const writer = new XlsxWriter(createWriteStream(file), columns, {
      title: 'Chargenliste',
      lang: 'de',
      generatedAt: new Date('2026-12-07T11:00:00Z'),
      generatedBy: 'qa.lead',
      filters: [['Status', 'released']],
      timeZone: 'Europe/Berlin',
    });
    for (const t of texts) {
      writer.addRow([t, 1234.567, new Date('2026-03-01T00:00:00Z'), new Date('2026-03-02T10:20:30Z')] as Cell[]);
    }
    await writer.finish();
    sheets = sofficeCsv(file);
    const data = sheets.Chargenliste as string[][];
    expect(data[0]).toEqual(['Text', 'Menge', 'Herstelldatum', 'Geändert am (Europe/Berlin)']);
    // LibreOffice holds a cell's line break as a paragraph break and writes it as LF: CRLF comes back as LF there
    // (the file itself holds the CR, as `_x000D_`, checked below).
    expect(data.slice(1).map((r) => r[0])).toEqual(texts.map((t) => t.replace(/\r\n/g, '\n')));
    for (const row of data.slice(1)) expect(row.slice(1)).toEqual(['1234.567', '2026-03-01', '2026-03-02 11:20:30']);
  });

  it('formula-like text is kept text by the quote-prefix style, not by an apostrophe in the value', () => {
    const xml = unzip(file, 'xl/worksheets/sheet1.xml');
    const styles = unzip(file, 'xl/styles.xml');
    const xfs = [...(/<cellXfs[^>]*>(.*?)<\/cellXfs>/s.exec(styles)?.[1] ?? '').matchAll(/<xf [^>]*?\/?>/g)].map(
      (m) => m[0],
    );
    const styleOf = (text: string) => {
      const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const cell = new RegExp(`<c r="A\\d+"(?: s="(\\d+)")? t="inlineStr"><is><r><t[^>]*>${escaped}</t>`).exec(xml);
      expect(cell, text).not.toBeNull();
      return xfs[Number(cell?.[1] ?? 0)] ?? '';
    };
    for (const t of ['-', '=1+1', '+49 30 1234', '@SUM(A1)', ' =1+1']) expect(styleOf(t)).toContain('quotePrefix="1"');
    for (const t of ['plain', 'in  between']) expect(styleOf(t)).not.toContain('quotePrefix');
    expect(xml).not.toContain("'-<");
    expect(xml).toContain('<t xml:space="preserve">  leading</t>');
    expect(xml).toContain('a_x000D_\nb');
    expect(xml).toContain('x_x005F_x000D_y');
    expect(xml).not.toContain('\r');
  });

  it('says what it is: a report sheet, document properties, and a print setup (landscape, fit to width, header row)', () => {
    expect(sheets.Bericht).toEqual([
      ['Titel', 'Chargenliste'],
      ['Erstellt', '07.12.2026 12:00:00 UTC+01:00'],
      ['von', 'qa.lead'],
      ['Filter', 'Status = released'],
      ['Zeilen', String(texts.length)],
      ['Zeitzone', 'Europe/Berlin'],
    ]);
    const core = unzip(file, 'docProps/core.xml');
    expect(core).toContain('<dc:creator>qa.lead</dc:creator>');
    expect(core).toContain('<dc:title>Chargenliste</dc:title>');
    expect(core).toContain(`Zeilen: ${texts.length}`);
    const sheet = unzip(file, 'xl/worksheets/sheet1.xml');
    expect(sheet).toMatch(/<pageSetup[^>]*orientation="landscape"/);
    expect(sheet).toMatch(/<pageSetup[^>]*fitToWidth="1"/);
    expect(sheet).toMatch(/<pageSetup[^>]*fitToHeight="0"/);
    expect(sheet).toMatch(/<pageSetUpPr fitToPage="1"/);
    expect(unzip(file, 'xl/workbook.xml')).toMatch(/_xlnm\.Print_Titles.*\$1:\$1/);
  });

  it('LibreOffice prints a wide charges sheet on few pages (landscape, one page wide)', async () => {
    const xlsx = join(dir, 'print.xlsx');
    const projection = chargeProjection(defaultColumns('charges', 'xlsx'), 'de');
    const writer = new XlsxWriter(createWriteStream(xlsx), projection.columns, {
      title: 'Chargenliste',
      lang: 'de',
      generatedAt: new Date(),
      generatedBy: 'qa',
      filters: [],
    });
    for (let i = 0; i < 290; i++) writer.addRow(projection.row(charge(i)));
    await writer.finish();
    execFileSync(
      'soffice',
      [
        `-env:UserInstallation=file://${join(dir, 'lo-profile')}`,
        '--headless',
        '--convert-to',
        'pdf',
        '--outdir',
        dir,
        xlsx,
      ],
      { stdio: 'ignore', timeout: 120_000 },
    );
    const info = execFileSync('pdfinfo', [join(dir, 'print.pdf')]).toString('utf8');
    const pages = Number(/Pages:\s+(\d+)/.exec(info)?.[1]);
    // 290 rows of 15 columns: one page wide, so ≈ 290 / 40 pages plus the report sheet; never 96.
    expect(pages).toBeLessThan(20);
    expect(info).toMatch(/Page size:\s+841\.\d+ x 595\.\d+/);
  });
});

// ---- the Chargenbericht ----

const hash = (s: ChargeState) => versionHash(s);

function history(count: number, opts: { deleted?: boolean } = {}): ChargeState[] {
  const chargeId = '5c1e7e2a-0d1b-4c4e-9f6a-2b7d7c1e0a11';
  const base = {
    chargeId,
    lotNumber: '2026-00042',
    articleId: 'ART-Łódź',
    quantity: 1234.567,
    unit: 'kg',
    productionDate: '2026-03-01',
    status: 'in_production',
    createdAt: '2026-03-01T10:00:00.000Z',
    createdBy: { userId: 'u1', username: 'olga' },
    requestId: 'r',
  } as const;
  const out: ChargeState[] = [];
  for (let v = 1; v <= count; v++) {
    const at = new Date(Date.UTC(2026, 2, 1, 10, 0, 7) + v * 60_000).toISOString();
    const state: ChargeState = {
      ...base,
      version: v,
      updatedAt: at,
      updatedBy: v === 1 ? base.createdBy : { userId: 'u2', username: `user${v % 3}` },
      reason: v === 1 ? null : `Änderung ${v}`,
      notes: `Notiz ${v}`,
    } as ChargeState;
    if (v === 2) {
      state.quantity = 1300;
      state.notes = `${'Lange Bemerkung mit vielen Wörtern. '.repeat(60)}ENDE-DER-BEMERKUNG\u0007!`;
    }
    if (v >= 2) state.quantity = 1300;
    if (v === 3) state.status = 'quarantine';
    if (v >= 4) state.status = 'released';
    out.push(state);
  }
  const released = out[3];
  if (released) {
    released.signature = {
      signer: { userId: 'u9', username: 'qa.lead', displayName: 'Dr. Łucja Nowak' },
      meaning: 'approved_for_release',
      at: released.updatedAt,
      method: 'password+totp',
      versionHash: hash(released),
    } as ChargeState['signature'];
  }
  if (opts.deleted) {
    const last = out.at(-1) as ChargeState;
    const gone = {
      ...last,
      version: last.version + 1,
      deletedAt: '2026-03-09T12:00:00.000Z',
      updatedAt: '2026-03-09T12:00:00.000Z',
      reason: 'Doppelt erfasst',
    } as ChargeState;
    delete gone.signature;
    out.push(gone);
  }
  return out;
}

function fakeStore(states: ChargeState[]) {
  return {
    get: async () => states.at(-1),
    latestVersions: async (_id: string, n: number) => {
      const versions = states.slice(-n);
      return { versions, earlier: (versions[0]?.version ?? 1) - 1 };
    },
  };
}

const auditor = { username: 'anna.audit', permissions: ['reports:read', 'audit:read'] };
const reader = { username: 'rolf', permissions: ['reports:read'] };

describe.skipIf(!POPPLER)('Chargenbericht (pdftotext)', () => {
  // skips only when poppler-utils is missing (.ci/run installs it)
  it('speaks German throughout: labels, statuses, numbers; times to the second with the zone; nothing cut', async () => {
    const { bytes } = await chargeReportPdf(
      fakeStore(history(5)) as never,
      'x',
      'de',
      reader,
      new Date('2026-12-07T11:00:00Z'),
      'Europe/Berlin',
    );
    const text = pdftotext(save('bericht-de.pdf', bytes)).replace(/\s+/g, ' ');
    expect(text).toContain('Chargenbericht 2026-00042');
    expect(text).toContain('Filter: Chargennummer = 2026-00042');
    expect(text).toContain('Chargendaten Chargennummer');
    expect(text).toContain('Menge: 1.234,567 -> 1.300');
    expect(text).toContain('In Produktion -> Quarantäne');
    expect(text).toContain('Quarantäne -> Freigegeben');
    expect(text).not.toMatch(/\b(released|in_production|quantity|productionDate)\b/);
    // The history's times: to the second, with the zone (Berlin, winter: UTC+01:00).
    expect(text).toContain('01.03.2026 11:02:07 UTC+01:00');
    // The long note is there in full, its control character shown, not dropped.
    expect(text).toContain('ENDE-DER-BEMERKUNG\uFFFD!');
    expect(text).not.toContain('…');
  });

  it('prints each electronic signature: printed name, date and time with zone, meaning', async () => {
    const { bytes } = await chargeReportPdf(fakeStore(history(5)) as never, 'x', 'de', reader, new Date(), 'UTC');
    const text = pdftotext(save('bericht-sig.pdf', bytes)).replace(/\s+/g, ' ');
    expect(text).toContain('Elektronische Unterschriften');
    expect(text).toContain('Dr. Łucja Nowak (qa.lead)');
    expect(text).toContain('01.03.2026 10:04:07 UTC');
    expect(text).toContain('Zur Freigabe genehmigt');
    expect(text).toContain('Passwort und TOTP');
    const en = await chargeReportPdf(fakeStore(history(5)) as never, 'x', 'en', reader, new Date(), 'UTC');
    const english = pdftotext(save('bericht-sig-en.pdf', en.bytes)).replace(/\s+/g, ' ');
    expect(english).toContain('Approved for release');
    expect(english).toContain('2026-03-01 10:04:07 UTC');
    expect(english).toContain('Quantity: 1,234.567 -> 1,300');
  });

  it('prints the latest 200 versions and says how many earlier ones there are', async () => {
    const { bytes } = await chargeReportPdf(fakeStore(history(250)) as never, 'x', 'de', reader);
    const text = pdftotext(save('bericht-250.pdf', bytes)).replace(/\s+/g, ' ');
    expect(text).toContain('50 frühere Versionen');
    expect(text).toContain('Änderung 250');
    expect(text).toContain('Änderung 51');
    expect(text).not.toContain('Änderung 50 ');
  });

  it('a deleted charge: for auditors, marked deleted; for others, not there', async () => {
    const states = history(5, { deleted: true });
    const { bytes } = await chargeReportPdf(fakeStore(states) as never, 'x', 'de', auditor, new Date(), 'UTC');
    const text = pdftotext(save('bericht-deleted.pdf', bytes)).replace(/\s+/g, ' ');
    expect(text).toContain('GELÖSCHT am 09.03.2026 12:00:00 UTC');
    expect(text).toContain('Doppelt erfasst');
    await expect(chargeReportPdf(fakeStore(states) as never, 'x', 'de', reader)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

// ---- report mails ----

const python = (eml: string) =>
  JSON.parse(
    execFileSync(
      'python3',
      [
        '-c',
        [
          'import sys, json, email, email.policy',
          'm = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)',
          'print(json.dumps({"subject": str(m["subject"]), "keys": list(m.keys()), "auto": m["Auto-Submitted"]}))',
        ].join('\n'),
      ],
      { input: Buffer.from(eml, 'utf8') },
    ).toString('utf8'),
  ) as { subject: string; keys: string[]; auto: string };

describe('report mails (mailparser and Python email)', () => {
  const hostile = [
    // An encoded-word in the title: decoded by a client it would be CR/LF, a Bcc and a right-to-left override.
    `Report "${encodedWords('Freigabe OK\r\nBcc: evil@example.com \u202eslx.exe').join(' ')}" of 2026-12-07`,
    `Bericht „${'Wöchentliche Freigaben der Charge für Qualitätssicherung '.repeat(3)}“ vom 07.12.2026`,
    'Bericht „Übersicht“ vom 07.12.2026',
    'plain ascii subject',
  ];

  it.each(hostile)(
    'the subject reads back as written, in encoded-words of at most 75 characters: %s',
    async (subject) => {
      const eml = toEml({ to: ['qa@example.com'], subject, text: 'Hallo\nLink' }, 'reports@example.com');
      const head = eml.split('\r\n\r\n')[0] as string;
      for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
      for (const word of head.match(/=\?[^?]+\?[BQ]\?[^?]*\?=/g) ?? []) expect(word.length).toBeLessThanOrEqual(75);
      expect(head).toContain('\r\nAuto-Submitted: auto-generated\r\n');

      const parsed = await simpleParser(eml);
      expect(parsed.subject).toBe(subject);
      expect(parsed.headers.has('bcc')).toBe(false);
      expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');

      const py = python(eml);
      expect(py.subject).toBe(subject);
      expect(py.keys.map((k) => k.toLowerCase())).not.toContain('bcc');
      expect(py.auto).toBe('auto-generated');
    },
  );

  it('a title with a bidi control is refused (422 at the edge: the schema)', () => {
    const base = { name: 'weekly', kind: 'charges', format: 'csv', schedule: null, timezone: 'UTC', recipients: [] };
    for (const c of ['\u202e', '\u202d', '\u2066', '\u2067', '\u2068', '\u2069', '\u200f', '\u200e', '\u061c']) {
      const result = NewDefinition.safeParse({ ...base, title: `Freigabe ${c}slx.exe` });
      expect(result.success, JSON.stringify(c)).toBe(false);
    }
    expect(NewDefinition.safeParse({ ...base, title: 'Freigaben „KW 49“ – Łódź' }).success).toBe(true);
  });
});

// ---- the README's pictures: a page of each PDF, as a QA manager gets it ----

describe.skipIf(!POPPLER)('pictures of the reports (docs/)', () => {
  // skips only when poppler-utils is missing (.ci/run installs it)
  it('renders the first page of the charges list and of the Chargenbericht', async () => {
    const docs = join(import.meta.dirname, '../../../docs');
    mkdirSync(join(docs, 'reports'), { recursive: true });
    const list = await pdfList(
      'picture-list.pdf',
      Array.from({ length: 40 }, (_, i) => charge(i)),
      'de',
    );
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      '60',
      '-f',
      '1',
      '-l',
      '1',
      '-singlefile',
      list,
      join(docs, 'reports/charges-list'),
    ]);
    const { bytes } = await chargeReportPdf(
      fakeStore(history(6)) as never,
      'x',
      'de',
      reader,
      new Date('2026-12-07T11:00:00Z'),
      'Europe/Berlin',
    );
    const report = save('picture-bericht.pdf', bytes);
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      '60',
      '-f',
      '1',
      '-l',
      '1',
      '-singlefile',
      report,
      join(docs, 'chargenbericht'),
    ]);
    expect(readFileSync(join(docs, 'reports/charges-list.png')).length).toBeGreaterThan(10_000);
  });
});
