import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChargeState } from '#charges/model';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ChargeStore, toItems } from '#charges/store';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { AUDIT_EPOCH, AuditStore, walkedMonths } from '#audit/store';
import type { AuditRecord } from '#audit/record';
import { buildExport, type ExportFile, type ExportRequest } from '#reports/export';
import { PDF_MAX_ROWS } from '#reports/model';
import { FUNCTIONS } from '#platform/routes';
import { isAppError } from '#platform/errors';
import { createTables } from '#test/support/streams';

/**
 * Exports of real data: 10 000 charges in DynamoDB Local, paged through the charges indexes into each
 * writer, read back with other tools. The 100 000-row path runs in a child process, whose peak RSS is
 * its own, against the reports function's memory setting.
 */
const COUNT = 10_000;
const scratch = mkdtempSync(join(tmpdir(), 'reports-10k-'));
const store = new ChargeStore();
const sources = { charges: store, audit: new AuditStore() };
const actor = { userId: 'u-seed', username: 'seed' };

function seedCharge(i: number): ChargeState {
  const day = String(1 + (i % 28)).padStart(2, '0');
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  return {
    chargeId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    articleId: `ART-${i % 100}`,
    quantity: 100 + (i % 1000) / 4,
    unit: 'kg',
    productionDate: `2026-02-${day}`,
    status: i % 2 === 0 ? 'released' : 'quarantine',
    ...(i === 7 ? { notes: 'Łódź Größe Ærø' } : {}),
    version: 1,
    createdAt: at,
    createdBy: actor,
    updatedAt: at,
    updatedBy: actor,
    requestId: 'seed',
    reason: null,
  };
}

const request = (format: ExportRequest['format'], filter = {}): ExportRequest => ({
  spec: { kind: 'charges', filter },
  format,
  lang: 'de',
  title: 'Chargenliste',
  generatedAt: new Date('2026-11-25T08:00:00Z'),
  generatedBy: 'test',
  filterLabels: [],
});

const files: ExportFile[] = [];
afterAll(async () => {
  await Promise.all(files.map((f) => f.cleanup()));
  rmSync(scratch, { recursive: true, force: true });
});

beforeAll(async () => {
  await createTables();
  // The repository's own item layout (live item + version snapshot), written 25 at a time.
  const db = documentDb();
  const items = Array.from({ length: COUNT }, (_, i) => toItems(seedCharge(i))).flatMap(({ live, snapshot }) => [
    live,
    snapshot,
  ]);
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  const table = tableName('charges');
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) {
        let batch = batches[next++] as Record<string, unknown>[];
        for (let attempt = 0; batch.length > 0 && attempt < 20; attempt++) {
          const res = await db.send(
            new BatchWriteCommand({ RequestItems: { [table]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
          );
          batch = (res.UnprocessedItems?.[table] ?? []).map((r) => r.PutRequest?.Item as Record<string, unknown>);
        }
        expect(batch).toEqual([]);
      }
    }),
  );
  expect((await store.list({ limit: 1 })).items).toHaveLength(1);
}, 600_000);

describe(`${COUNT} charges from DynamoDB Local`, () => {
  it('CSV: every charge once, read back with csv-parse', async () => {
    const file = await buildExport(request('csv'), sources);
    files.push(file);
    expect(file.rows).toBe(COUNT);
    const records = parse(readFileSync(file.path, 'utf8'), { bom: true, columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(COUNT);
    expect(new Set(records.map((r) => r.Charge)).size).toBe(COUNT);
    expect(records.find((r) => r.Bemerkungen)?.Bemerkungen).toBe('Łódź Größe Ærø');
    // Newest production date first, as the list API orders.
    expect(records[0]?.Herstelldatum).toBe('2026-02-28');
    expect(records.at(-1)?.Herstelldatum).toBe('2026-02-01');
  }, 120_000);

  it('XLSX: typed cells, read back with read-excel-file', async () => {
    const file = await buildExport(request('xlsx', { status: 'released' }), sources);
    files.push(file);
    expect(file.rows).toBe(COUNT / 2);
    const sheet = await readSheet(readFileSync(file.path));
    expect(sheet).toHaveLength(COUNT / 2 + 1);
    const header = sheet[0] as string[];
    for (const row of sheet.slice(1, 50)) {
      expect(typeof row[header.indexOf('Menge')]).toBe('number');
      expect(row[header.indexOf('Herstelldatum')]).toBeInstanceOf(Date);
      expect(row[header.indexOf('Status')]).toBe('released');
    }
  }, 120_000);

  it('PDF: every row in order, page numbers on every page (pdftotext, page by page)', async () => {
    const file = await buildExport(request('pdf'), sources);
    files.push(file);
    expect(file.rows).toBe(COUNT);
    const info = execFileSync('pdfinfo', [file.path]).toString('utf8');
    const pages = Number(/Pages:\s+(\d+)/.exec(info)?.[1]);
    expect(pages).toBeGreaterThan(100);
    // pdftotext over all pages of a document with embedded fonts takes a minute: read first, middle and last.
    const page = (n: number) =>
      execFileSync('pdftotext', ['-f', String(n), '-l', String(n), file.path, '-']).toString('utf8');
    const first = page(1);
    expect(first).toContain(`Seite 1 von ${pages}`);
    // Newest production date first (the list order): charge 9995 is the last one made on 28 February.
    expect(first).toContain('00000000-0000-4000-8000-000000009995');
    const middle = page(Math.ceil(pages / 2));
    expect(middle).toContain(`Seite ${Math.ceil(pages / 2)} von ${pages}`);
    expect(middle).toContain('Herstelldatum');
    const last = page(pages);
    expect(last).toContain(`Seite ${pages} von ${pages}`);
    expect(last).toContain('00000000-0000-4000-8000-000000000000');
  }, 180_000);

  it(`PDF above ${PDF_MAX_ROWS} rows: EXPORT_TOO_LARGE naming CSV/XLSX, before building the document`, async () => {
    // The rows come from the same list port, generated: 20 001 charges in DynamoDB would only slow the suite.
    let listed = 0;
    const many = {
      list: async (filter: { limit: number; cursor?: string }) => {
        const from = Number(filter.cursor ?? 0);
        const items = Array.from({ length: filter.limit }, (_, i) => seedCharge(from + i));
        listed += items.length;
        return { items, nextCursor: String(from + filter.limit) };
      },
    };
    const err = await buildExport(request('pdf'), { ...sources, charges: many }).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('EXPORT_TOO_LARGE');
    expect(isAppError(err) && err.status).toBe(422);
    expect((err as Error).message).toMatch(/CSV or XLSX/);
    // It stopped at the limit instead of reading everything there is.
    expect(listed).toBeLessThanOrEqual(PDF_MAX_ROWS + 500);
    expect(listed).toBeGreaterThan(PDF_MAX_ROWS);
  }, 120_000);
});

describe('audit exports', () => {
  const auditRequest = (format: ExportRequest['format'], from?: string, to?: string): ExportRequest => ({
    ...request(format),
    spec: { kind: 'audit', range: { from, to } },
    title: 'Audit-Trail',
  });

  it('a formula behind a control character (login name, entity, reason) is neutralised in CSV and XLSX alike', async () => {
    // What an anonymous caller can put on the trail: a failed login records the name as typed.
    const hostile = ['\u0001=HYPERLINK("http://evil.example/x","Open")', '\u0000=1+1', '\u000b+cmd', '\u001f@SUM(A1)'];
    const records: AuditRecord[] = hostile.map((text, i) => ({
      auditId: `a-${i}`,
      entityType: 'login',
      entityId: text,
      seq: 1,
      action: 'login.failure',
      actor: { userId: 'anonymous', username: text },
      at: '2026-11-26T02:00:00.000Z',
      requestId: null,
      reason: text,
      version: null,
      changes: {},
      prevHash: '',
      hash: 'h',
    }));
    const audit = { search: async () => ({ items: records, nextCursor: null }) };
    const formula = /^[=+\-@\t\r\n]/;

    const csv = await buildExport(auditRequest('csv'), { ...sources, audit });
    files.push(csv);
    const rows = parse(readFileSync(csv.path, 'utf8'), { bom: true, columns: true }) as Record<string, string>[];
    const xlsx = await buildExport(auditRequest('xlsx'), { ...sources, audit });
    files.push(xlsx);
    const sheet = await readSheet(readFileSync(xlsx.path));
    const header = sheet[0] as string[];
    const stored = execFileSync('unzip', ['-p', xlsx.path, 'xl/worksheets/sheet1.xml']).toString('utf8');

    expect(rows).toHaveLength(hostile.length);
    for (const [i, row] of rows.entries()) {
      for (const column of ['Objekt', 'Benutzer', 'Begründung']) {
        const text = row[column] as string;
        expect(text).not.toMatch(formula);
        expect(sheet[i + 1]?.[header.indexOf(column)]).toBe(text);
      }
    }
    expect(rows[0]?.Benutzer).toBe('\uFFFD=HYPERLINK("http://evil.example/x","Open")');
    for (const [, text] of stored.matchAll(/<(?:v|t)(?: [^>]*)?>([^<]*)<\/(?:v|t)>/g))
      expect(text).not.toMatch(formula);
  });

  it("0001-01-01…9999-12-31 reads one month at a time, only within the system's lifetime", async () => {
    const db = documentDb();
    let queries = 0;
    const counting = {
      send: (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
        queries += 1;
        return db.send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const file = await buildExport(auditRequest('csv', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'), {
      ...sources,
      audit: new AuditStore(counting),
    });
    files.push(file);
    expect(file.rows).toBe(0);
    // This table holds no audit records: every month of the lifetime is one empty Query, and nothing else.
    expect(queries).toBe(walkedMonths(AUDIT_EPOCH, '9999-12-31', new Date()).length);
  });
});

describe('100 000 rows in a child process, within the reports function memory', () => {
  const limitMB = FUNCTIONS.reports.memorySize;
  const child = (format: string) => {
    const out = join(scratch, `big.${format}`);
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', resolve('scripts/bench/report-child.ts'), 'pipeline', format, '100000', out],
      { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'SILENT' } },
    );
    expect(result.status, result.stderr).toBe(0);
    return {
      ...(JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as {
        rows: number;
        bytes: number;
        maxRssMB: number;
      }),
      out,
    };
  };

  it('CSV', () => {
    const run = child('csv');
    expect(run.rows).toBe(100_000);
    expect(run.maxRssMB).toBeLessThan(limitMB);
    const lines = readFileSync(run.out, 'utf8')
      .split('\r\n')
      // The charge id follows the (empty) lot number column.
      .filter((l) => /^[^,]*,\d{8}-/.test(l));
    expect(lines).toHaveLength(100_000);
    expect(statSync(run.out).size).toBe(run.bytes);
    writeFileSync(run.out, '');
  }, 180_000);

  it('XLSX', () => {
    const run = child('xlsx');
    expect(run.rows).toBe(100_000);
    expect(run.maxRssMB).toBeLessThan(limitMB);
    // The last row made it into the sheet (a read with a second tool).
    const sheet = execFileSync('unzip', ['-p', run.out, 'xl/worksheets/sheet1.xml'], {
      maxBuffer: 512 * 1024 * 1024,
    }).toString('utf8');
    expect(sheet).toContain('<row r="100001"');
    expect(sheet).toContain('00000000-0000-4000-8000-000000099999');
  }, 180_000);
});
