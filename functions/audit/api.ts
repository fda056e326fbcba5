import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { AuditPage, AuditQuery, DigestQuery, lowerBound, upperBound } from './model';
import { exportJsonl } from './digest-job';
import { AuditStore } from './store';
import type { AuditRecord } from './record';

const audit = new AuditStore();

// Chain verification and the signed digests are the audit-verify function's (functions/audit/verify-api.ts): the S3
// and KMS clients and the audited modules' stores stay out of this bundle.

export const routes = defineRoutes({
  'GET /audit': route({
    query: AuditQuery,
    doc: {
      summary: 'Search the audit trail',
      description:
        'By entity (`entityType`, and `entityId` with it), actor, action and time (`from`/`to`: a date is the whole ' +
        'UTC day).',
      responses: [{ status: 200, description: 'A page of audit records', body: AuditPage }],
    },
    run: async ({ query }) =>
      ok(await audit.search({ ...query, from: lowerBound(query.from), to: upperBound(query.to) })),
  }),

  'GET /reports/audit.jsonl': route({
    query: DigestQuery,
    doc: {
      summary: 'Export the audit trail for offline verification',
      description:
        'One JSON line per record with every hashed field, `prevHash` and `hash`, after a header line naming the ' +
        'range; `npm run verify-audit` checks it against the signed digests with nothing but their public key.',
      responses: [
        {
          status: 200,
          description: 'JSON Lines: a header line, then one record per line',
          files: ['application/x-ndjson'],
          headers: ['Content-Disposition'],
        },
      ],
    },
    run: async ({ query }) => {
      const from = lowerBound(query.from);
      const to = upperBound(query.to);
      const records: AuditRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.search({ from, to, limit: 1000, cursor });
        records.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return {
        statusCode: 200,
        headers: { 'Content-Disposition': 'attachment; filename="audit.jsonl"' },
        raw: {
          contentType: 'application/x-ndjson',
          data: exportJsonl(records, from ?? null, to ?? null, new Date().toISOString()),
        },
      };
    },
  }),
});

export const handler = httpHandler(routes);
