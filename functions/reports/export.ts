import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Charge, ChargeStatus } from '#charges/model';
import { toPublicCharge } from '#charges/model';
import type { ChargeStore } from '#charges/store';
import type { AuditStore } from '#audit/store';
import type { AuditRecord } from '#audit/record';
import { AppError } from '#platform/errors';
import { CsvWriter } from '#reports/writers/csv';
import type { Cell, Lang, TableWriter } from '#reports/writers/table';
import { auditProjection, chargeProjection, defaultColumns, type Projection, type ReportKind } from './columns';
import { type Format, PDF_MAX_ROWS } from './model';

/** Rows per DynamoDB page: large enough for few round trips, small enough to keep memory flat. */
const PAGE_SIZE = 500;

export const CONTENT_TYPES: Record<Format, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
};

export interface ChargeFilter {
  status?: ChargeStatus;
  articleId?: string;
  from?: string;
  to?: string;
}

export interface AuditRange {
  /** ISO instants, inclusive. */
  from?: string;
  to?: string;
  /** The audit explorer's narrowing, as the search takes it. */
  entityType?: string;
  entityId?: string;
  actor?: string;
  action?: string;
}

export type ExportSpec = { kind: 'charges'; filter: ChargeFilter } | { kind: 'audit'; range: AuditRange };

export interface ExportRequest {
  spec: ExportSpec;
  format: Format;
  lang: Lang;
  title: string;
  /** Column keys in order; default: all of the kind (PDF: the ones that fit a page). */
  columns?: readonly string[];
  generatedBy: string;
  generatedAt: Date;
  /** Filter name → value as printed on the PDF and in the XLSX. */
  filterLabels: readonly (readonly [string, string])[];
  /** IANA zone the PDF and XLSX print times in (a definition's `timezone`); default UTC. */
  timeZone?: string;
  /** Charges: deleted ones too (auditors), marked by their `deletedAt`. */
  includeDeleted?: boolean;
}

export interface ExportFile {
  path: string;
  bytes: number;
  rows: number;
  contentType: string;
  filename: string;
  /** Removes the temporary file. */
  cleanup(): Promise<void>;
}

export interface ExportSources {
  charges: Pick<ChargeStore, 'list'> & Partial<Pick<ChargeStore, 'get'>>;
  audit: Pick<AuditStore, 'search'>;
}

/** Every live charge matching the filter, page by page through the charges GSIs (never a scan). */
export async function* chargePages(store: Pick<ChargeStore, 'list'>, filter: ChargeFilter): AsyncGenerator<Charge[]> {
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...filter, limit: PAGE_SIZE, cursor });
    yield page.items.map((c) => toPublicCharge(c));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

const matches = (c: Charge, f: ChargeFilter) =>
  (f.status === undefined || c.status === f.status) &&
  (f.articleId === undefined || c.articleId === f.articleId) &&
  (f.from === undefined || c.productionDate >= f.from) &&
  (f.to === undefined || c.productionDate <= f.to);

/**
 * The deleted charges matching the filter. Deleted charges are in none of the list indexes; each deletion is on
 * the audit trail (`entityType: charge`, `action: delete`), which is read by month (never a scan), and the charge
 * itself is read by its key.
 */
export async function* deletedChargePages(
  store: Pick<ChargeStore, 'get'>,
  audit: Pick<AuditStore, 'search'>,
  filter: ChargeFilter,
): AsyncGenerator<Charge[]> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await audit.search({ entityType: 'charge', action: 'delete', limit: PAGE_SIZE, cursor });
    const ids = page.items.map((r) => r.entityId).filter((id) => !seen.has(id) && seen.add(id));
    const states = await Promise.all(ids.map((id) => store.get(id)));
    yield states
      .filter((s): s is NonNullable<typeof s> => s !== undefined && s.deletedAt !== undefined)
      .map((s) => toPublicCharge(s))
      .filter((c) => matches(c, filter));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

async function* concat<T>(...sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  for (const source of sources) yield* source;
}

export async function* auditPages(audit: Pick<AuditStore, 'search'>, range: AuditRange): AsyncGenerator<AuditRecord[]> {
  let cursor: string | undefined;
  do {
    const page = await audit.search({ ...range, limit: PAGE_SIZE, cursor });
    yield page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

export function exportFilename(kind: ReportKind, format: Format, at: Date): string {
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `${kind === 'charges' ? 'charges' : 'audit'}-${stamp}.${format}`;
}

function tooLarge(): AppError {
  return new AppError(
    'EXPORT_TOO_LARGE',
    `A PDF list holds at most ${PDF_MAX_ROWS} rows: narrow the filters, or export as CSV or XLSX, which have no such limit`,
    { details: { maxRows: PDF_MAX_ROWS, alternatives: ['csv', 'xlsx'] } },
  );
}

/**
 * Builds an export into a temporary file (Lambda's /tmp), streaming page by page from DynamoDB into the
 * writer, so memory stays flat for CSV and XLSX whatever the row count. The caller sends the file inline,
 * stores it, or both, and then calls `cleanup`.
 */
export async function buildExport(request: ExportRequest, sources: ExportSources): Promise<ExportFile> {
  const dir = await mkdtemp(join(tmpdir(), 'report-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const filename = exportFilename(request.spec.kind, request.format, request.generatedAt);
    const path = join(dir, `${randomUUID()}.${request.format}`);
    const out = createWriteStream(path);
    const includeDeleted = request.spec.kind === 'charges' && request.includeDeleted === true;
    const chosen = request.columns ?? defaultColumns(request.spec.kind, request.format, includeDeleted);
    // Deleted rows are marked: an export that holds them always has their deletion time.
    const keys = includeDeleted && !chosen.includes('deletedAt') ? [...chosen, 'deletedAt'] : chosen;
    const meta = {
      title: request.title,
      lang: request.lang,
      generatedAt: request.generatedAt,
      generatedBy: request.generatedBy,
      filters: request.filterLabels,
      timeZone: request.timeZone ?? 'UTC',
    };
    let rows = 0;

    // exceljs and pdf-lib + fontkit load on the first export that needs them (docs/performance.md "Lazy format
    // libraries"): evaluating them took half the reports functions' cold import, which every route paid.
    const open = async (projection: Projection<unknown>, rows: Cell[][] = []): Promise<TableWriter> => {
      if (request.format === 'csv') return new CsvWriter(out, projection.columns);
      if (request.format === 'xlsx') {
        const { XlsxWriter } = await import('#reports/writers/xlsx');
        return new XlsxWriter(out, projection.columns, meta);
      }
      const { pdfTableWriter } = await import('#reports/writers/pdf');
      return pdfTableWriter(out, projection.columns, meta, rows);
    };

    const pump = async <R>(projection: Projection<R>, pages: AsyncGenerator<R[]>) => {
      if (request.format === 'pdf') {
        // pdf-lib builds the whole document in memory anyway: collect the (small) cell rows first, so a
        // list over the limit is refused before any page is drawn.
        const cells: Cell[][] = [];
        for await (const page of pages) {
          for (const record of page) {
            if (cells.length === PDF_MAX_ROWS) {
              out.destroy();
              throw tooLarge();
            }
            cells.push(projection.row(record));
          }
        }
        const writer = await open(projection as Projection<unknown>, cells);
        for (const row of cells) await writer.addRow(row);
        rows = cells.length;
        await writer.finish();
        return;
      }
      const writer = await open(projection as Projection<unknown>);
      for await (const page of pages) {
        for (const record of page) {
          rows += 1;
          // Writers return a promise only when they have to wait for the file (back-pressure).
          const pending = writer.addRow(projection.row(record));
          if (pending instanceof Promise) await pending;
        }
      }
      await writer.finish();
    };

    const dates = request.format === 'csv' ? 'text' : 'typed';
    if (request.spec.kind === 'charges') {
      const { filter } = request.spec;
      const { get } = sources.charges;
      const pages =
        includeDeleted && get
          ? concat(
              chargePages(sources.charges, filter),
              deletedChargePages({ get: get.bind(sources.charges) }, sources.audit, filter),
            )
          : chargePages(sources.charges, filter);
      await pump(chargeProjection(keys, request.lang, dates), pages);
    } else {
      await pump(auditProjection(keys, request.lang, dates), auditPages(sources.audit, request.spec.range));
    }
    const { size } = await stat(path);
    return { path, bytes: size, rows, contentType: CONTENT_TYPES[request.format], filename, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
