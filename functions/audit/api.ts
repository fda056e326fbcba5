import { verifyChain } from './record';
import { notFound } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { ok, route } from '#platform/http/router';
import { AuditQuery, lowerBound, upperBound, VerifyQuery } from './model';
import { AuditStore } from './store';

const audit = new AuditStore();

export const handler = httpHandler({
  'GET /audit': route({
    query: AuditQuery,
    run: async ({ query }) =>
      ok(await audit.search({ ...query, from: lowerBound(query.from), to: upperBound(query.to) })),
  }),

  /** Recomputes one entity's hash chain from the stored records and names the first broken link. */
  'GET /audit/verify': route({
    query: VerifyQuery,
    run: async ({ query }) => {
      const records = await audit.chain(query.entityType, query.entityId);
      if (records.length === 0) throw notFound('No audit records for this entity');
      return ok({ entityType: query.entityType, entityId: query.entityId, ...verifyChain(records) });
    },
  }),
});
