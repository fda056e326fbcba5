import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AuditStore } from '#audit/store';
import { ChargeStore } from '#charges/store';
import { config } from '#platform/config';
import { reportDownloadLinks } from '#platform/observability/counters';
import { httpHandler } from '#platform/http/handler';
import { created, defineRoutes, type HttpResult, noContent, ok, type ResponseDoc, route } from '#platform/http/router';
import { reportAdapters } from '#reports/delivery/adapters';
import { contentDisposition } from '#reports/delivery/s3-object-store';
import { CONTENT_TYPES, type ExportFile } from './export';
import {
  AuditReportQuery,
  ChargeReportPdfQuery,
  ChargeReportQuery,
  DefinitionPage,
  DefinitionPatch,
  DefinitionView,
  type Format,
  NewDefinition,
  PageQuery,
  PublicRun,
  RunPage,
  RunsQuery,
} from './model';
import { ReportStore } from './store';
import { publicRun, ReportService } from './service';

const chargeStore = new ChargeStore();
export const reports = new ReportService({
  repo: new ReportStore(),
  charges: chargeStore,
  audit: new AuditStore(),
  adapters: reportAdapters,
});

const redirect = (location: string): HttpResult => ({ statusCode: 303, headers: { Location: location } });

/**
 * Small files go back in the response (base64, as API Gateway wants binary); anything above
 * REPORT_INLINE_MAX_BYTES — which base64 would push past Lambda's 6 MB response limit — is stored and
 * answered with 303 to a short-lived download link.
 */
async function sendFile(file: ExportFile): Promise<HttpResult> {
  try {
    if (file.bytes <= config().REPORT_INLINE_MAX_BYTES) {
      return {
        statusCode: 200,
        raw: { contentType: file.contentType, data: await readFile(file.path) },
        headers: { 'Content-Disposition': contentDisposition(file.filename) },
      };
    }
    const objects = reportAdapters().objects;
    const key = `exports/${new Date().toISOString().slice(0, 10)}/${randomUUID()}/${file.filename}`;
    await objects.putFile(key, file.path, file.contentType);
    const link = await objects.downloadUrl(key, file.filename);
    reportDownloadLinks.inc({ kind: 'export' });
    return redirect(link);
  } finally {
    await file.cleanup();
  }
}

/** The answers of an export: the file itself, or a redirect to its download link when it is large. */
const exportResponses = (format: Format): ResponseDoc[] => [
  {
    status: 200,
    description: 'The file (attachment)',
    files: [CONTENT_TYPES[format]],
    headers: ['Content-Disposition'],
  },
  { status: 303, description: 'A large file: `Location` is a short-lived download link', headers: ['Location'] },
];

export const routes = defineRoutes({
  'GET /charges/{id}/report.pdf': route({
    query: ChargeReportPdfQuery,
    doc: {
      summary: 'Chargenbericht (batch report) of one charge',
      description:
        'The charge, its latest 200 versions (and how many earlier ones there are) and the electronic signatures made ' +
        'on it, as a PDF (`lang`: de or en; `timezone`: the IANA zone times are printed in). A deleted charge’s ' +
        'report, marked deleted, needs `audit:read`.',
      responses: [
        {
          status: 200,
          description: 'The PDF (attachment)',
          files: ['application/pdf'],
          headers: ['Content-Disposition'],
        },
      ],
    },
    run: async (ctx) => {
      // pdf-lib and fontkit load with the first PDF (see buildExport).
      const { chargeReportPdf } = await import('#reports/writers/chargenbericht');
      const { bytes, filename } = await chargeReportPdf(
        chargeStore,
        ctx.params.id,
        ctx.query.lang,
        ctx.caller,
        new Date(),
        ctx.query.timezone,
      );
      return {
        statusCode: 200,
        raw: { contentType: 'application/pdf', data: Buffer.from(bytes) },
        headers: { 'Content-Disposition': contentDisposition(filename) },
      };
    },
  }),

  ...Object.fromEntries(
    (['csv', 'xlsx', 'pdf'] as const).map((format) => [
      `GET /reports/charges.${format}`,
      route({
        query: ChargeReportQuery,
        doc: {
          summary: `Export charges as ${format.toUpperCase()}`,
          description:
            (format === 'pdf'
              ? 'A PDF list holds at most 20 000 rows (`EXPORT_TOO_LARGE` names CSV and XLSX).'
              : 'Filtered like `GET /charges`; no row cap.') +
            ' `columns` picks and orders the fields; `includeDeleted=true` adds deleted charges, marked by their ' +
            'deletion time (needs `audit:read`).',
          responses: exportResponses(format),
          errors: format === 'pdf' ? ['EXPORT_TOO_LARGE'] : [],
        },
        run: async (ctx) => sendFile(await reports.exportCharges(ctx.query, format, ctx.caller)),
      }),
    ]),
  ),
  ...Object.fromEntries(
    (['csv', 'xlsx'] as const).map((format) => [
      `GET /reports/audit.${format}`,
      route({
        query: AuditReportQuery,
        doc: {
          summary: `Export the audit trail as ${format.toUpperCase()}`,
          description: 'Needs `audit:read` as well.',
          responses: exportResponses(format),
          errors: ['FORBIDDEN'],
        },
        run: async (ctx) => sendFile(await reports.exportAudit(ctx.query, format, ctx.caller)),
      }),
    ]),
  ),

  'GET /reports/runs': route({
    query: RunsQuery,
    doc: {
      summary: 'List report runs',
      description: 'Newest first; `definitionId` narrows to one definition.',
      responses: [{ status: 200, description: 'A page of runs', body: RunPage }],
    },
    run: async (ctx) => ok(await reports.listRuns(ctx.query.limit, ctx.query.cursor, ctx.query.definitionId)),
  }),
  'GET /reports/runs/{id}': route({
    doc: { summary: 'Read a report run', responses: [{ status: 200, description: 'The run', body: PublicRun }] },
    run: async (ctx) => ok(await reports.getRun(ctx.params.id)),
  }),
  'GET /reports/runs/{id}/download': route({
    doc: {
      summary: "Download a run's file",
      description: 'A run of an audit report also needs `audit:read`.',
      responses: [{ status: 303, description: '`Location` is a short-lived download link', headers: ['Location'] }],
      errors: ['FORBIDDEN'],
    },
    run: async (ctx) => {
      const link = await reports.runDownloadUrl(ctx.params.id, ctx.caller);
      reportDownloadLinks.inc({ kind: 'run' });
      return redirect(link);
    },
  }),

  'POST /reports/definitions': route({
    body: NewDefinition,
    doc: {
      summary: 'Create a report definition',
      description:
        'Columns, cron expression, time zone and filters are checked together (422); audit definitions need ' +
        '`audit:read`. A schedule fires the run and mails the link to each recipient on their own. A schedule fires ' +
        'at most once an hour; at most `REPORT_MAX_RECIPIENTS` recipients, in `REPORT_RECIPIENT_DOMAINS` when set ' +
        '(422). At most 100 definitions: past that, `CONFLICT` (409).',
      responses: [{ status: 201, description: 'The definition', body: DefinitionView, headers: ['Location'] }],
      errors: ['FORBIDDEN', 'CONFLICT'],
    },
    run: async (ctx) => {
      const def = await reports.createDefinition(ctx.body, ctx.caller, ctx.meta);
      return created(def, { Location: ctx.location(`/reports/definitions/${def.definitionId}`) });
    },
  }),
  'GET /reports/definitions': route({
    query: PageQuery,
    doc: {
      summary: 'List report definitions',
      responses: [{ status: 200, description: 'A page of definitions', body: DefinitionPage }],
    },
    run: async (ctx) => ok(await reports.listDefinitions(ctx.query.limit, ctx.query.cursor)),
  }),
  'GET /reports/definitions/{id}': route({
    doc: {
      summary: 'Read a report definition',
      responses: [{ status: 200, description: 'The definition', body: DefinitionView }],
    },
    run: async (ctx) => ok(reports.view(await reports.getDefinition(ctx.params.id))),
  }),
  'PATCH /reports/definitions/{id}': route({
    body: DefinitionPatch,
    doc: {
      summary: 'Change a report definition',
      description: 'Checked as a whole after the change; a concurrent change is `CONFLICT`.',
      responses: [{ status: 200, description: 'The definition as changed', body: DefinitionView }],
      errors: ['FORBIDDEN', 'CONFLICT'],
    },
    run: async (ctx) => ok(await reports.updateDefinition(ctx.params.id, ctx.body, ctx.caller, ctx.meta)),
  }),
  'DELETE /reports/definitions/{id}': route({
    doc: {
      summary: 'Delete a report definition',
      description: 'Its schedule goes with it; its runs stay.',
      responses: [{ status: 204, description: 'Deleted' }],
    },
    run: async (ctx) => {
      await reports.deleteDefinition(ctx.params.id, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
  /** Run now, in this request (the same code the scheduled runner uses); the answer is the recorded run. */
  'POST /reports/definitions/{id}/run': route({
    doc: {
      summary: 'Run a report definition now',
      description:
        'In this request, with the code the schedule uses; the answer is the recorded run, `failed` when the file ' +
        'could not be built. An audit definition needs `audit:read`.',
      responses: [{ status: 201, description: 'The run', body: PublicRun, headers: ['Location'] }],
      errors: ['FORBIDDEN'],
    },
    run: async (ctx) => {
      const run = await reports.runDefinition(ctx.params.id, 'manual', ctx.caller);
      return created(publicRun(run), { Location: ctx.location(`/reports/runs/${run.runId}`) });
    },
  }),
});

export const handler = httpHandler(routes);
