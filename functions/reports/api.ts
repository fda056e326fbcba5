import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AuditStore } from '#audit/store';
import { ChargeStore } from '#charges/store';
import { ChargeService } from '#charges/service';
import { config } from '#platform/config';
import { httpHandler } from '#platform/http/handler';
import { created, type HttpResult, noContent, ok, route } from '#platform/http/router';
import { reportAdapters } from '#reports/delivery/adapters';
import { contentDisposition } from '#reports/delivery/s3-object-store';
import type { ExportFile } from './export';
import {
  AuditReportQuery,
  ChargeReportPdfQuery,
  ChargeReportQuery,
  DefinitionPatch,
  NewDefinition,
  PageQuery,
  RunsQuery,
} from './model';
import { ReportStore } from './store';
import { publicRun, ReportService } from './service';

const chargeStore = new ChargeStore();
const charges = new ChargeService(chargeStore);
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
    return redirect(await objects.downloadUrl(key, file.filename));
  } finally {
    await file.cleanup();
  }
}

export const handler = httpHandler({
  'GET /charges/{id}/report.pdf': route({
    query: ChargeReportPdfQuery,
    run: async (ctx) => {
      // pdf-lib and fontkit load with the first PDF (see buildExport).
      const { chargeReportPdf } = await import('#reports/writers/chargenbericht');
      const { bytes, filename } = await chargeReportPdf(charges, ctx.params.id, ctx.query.lang, ctx.caller.username);
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
        run: async (ctx) => sendFile(await reports.exportCharges(ctx.query, format, ctx.caller)),
      }),
    ]),
  ),
  ...Object.fromEntries(
    (['csv', 'xlsx'] as const).map((format) => [
      `GET /reports/audit.${format}`,
      route({
        query: AuditReportQuery,
        run: async (ctx) => sendFile(await reports.exportAudit(ctx.query, format, ctx.caller)),
      }),
    ]),
  ),

  'GET /reports/runs': route({
    query: RunsQuery,
    run: async (ctx) => ok(await reports.listRuns(ctx.query.limit, ctx.query.cursor, ctx.query.definitionId)),
  }),
  'GET /reports/runs/{id}': route({
    run: async (ctx) => ok(await reports.getRun(ctx.params.id)),
  }),
  'GET /reports/runs/{id}/download': route({
    run: async (ctx) => redirect(await reports.runDownloadUrl(ctx.params.id, ctx.caller)),
  }),

  'POST /reports/definitions': route({
    body: NewDefinition,
    run: async (ctx) => {
      const def = await reports.createDefinition(ctx.body, ctx.caller);
      return created(def, { Location: ctx.location(`/reports/definitions/${def.definitionId}`) });
    },
  }),
  'GET /reports/definitions': route({
    query: PageQuery,
    run: async (ctx) => ok(await reports.listDefinitions(ctx.query.limit, ctx.query.cursor)),
  }),
  'GET /reports/definitions/{id}': route({
    run: async (ctx) => ok(reports.view(await reports.getDefinition(ctx.params.id))),
  }),
  'PATCH /reports/definitions/{id}': route({
    body: DefinitionPatch,
    run: async (ctx) => ok(await reports.updateDefinition(ctx.params.id, ctx.body, ctx.caller)),
  }),
  'DELETE /reports/definitions/{id}': route({
    run: async (ctx) => {
      await reports.deleteDefinition(ctx.params.id);
      return noContent();
    },
  }),
  /** Run now, in this request (the same code the scheduled runner uses); the answer is the recorded run. */
  'POST /reports/definitions/{id}/run': route({
    run: async (ctx) => {
      const run = await reports.runDefinition(ctx.params.id, 'manual', ctx.caller);
      return created(publicRun(run), { Location: ctx.location(`/reports/runs/${run.runId}`) });
    },
  }),
});
