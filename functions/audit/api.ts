import { verifyChain } from './record';
import { notFound } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { AuditPage, AuditQuery, lowerBound, upperBound, VerifyQuery, VerifyResult } from './model';
import { AuditStore } from './store';

const audit = new AuditStore();

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

  /** Recomputes one entity's hash chain from the stored records and names the first broken link. */
  'GET /audit/verify': route({
    query: VerifyQuery,
    doc: {
      summary: "Verify an entity's hash chain",
      description: 'Recomputes the chain from the stored records and names the first broken link.',
      responses: [{ status: 200, description: 'The outcome (a broken chain is 200 with `valid: false`)', body: VerifyResult }],
      errors: ['NOT_FOUND'],
    },
    run: async ({ query }) => {
      const records = await audit.chain(query.entityType, query.entityId);
      if (records.length === 0) throw notFound('No audit records for this entity');
      return ok({ entityType: query.entityType, entityId: query.entityId, ...verifyChain(records) });
    },
  }),
});

export const handler = httpHandler(routes);
