import { notFound } from '#platform/errors';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import {
  AuditDigest,
  AuditDigestList,
  AuditPage,
  AuditQuery,
  DigestQuery,
  lowerBound,
  upperBound,
  VerifyQuery,
  VerifyResult,
} from './model';
import { digestAdapters } from './digest-adapters';
import { verifyAnchored } from './anchor';
import { exportJsonl } from './digest-job';
import { auditedEntity } from './audited-entities';
import { AuditStore } from './store';
import type { AuditRecord } from './record';

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
      responses: [
        { status: 200, description: 'The outcome (a broken chain is 200 with `valid: false`)', body: VerifyResult },
      ],
      errors: ['NOT_FOUND'],
    },
    run: async ({ query }) => {
      const { entityType, entityId } = query;
      const [records, entityVersion, digests] = await Promise.all([
        audit.chain(entityType, entityId),
        // The owner's description of the entity: the chain's head must reach the entity's version.
        auditedEntity(entityType)?.currentVersion?.(entityId),
        digestAdapters().store.list(),
      ]);
      const listed = digests.some((d) => d.heads.some((h) => h.entityType === entityType && h.entityId === entityId));
      // Only an id nothing knows is 404: a deleted chain of an existing (or digested) entity is `valid: false`.
      if (records.length === 0 && entityVersion === undefined && !listed) {
        throw notFound('No audit records for this entity');
      }
      const publicKey = listed ? await digestAdapters().signer.publicKeyPem() : undefined;
      return ok({
        entityType,
        entityId,
        ...verifyAnchored(records, digests, publicKey, entityType, entityId, entityVersion),
      });
    },
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

  'GET /audit/digests': route({
    query: DigestQuery,
    doc: {
      summary: 'List the signed audit digests',
      description: 'Digests whose `until` lies in `from`…`to` (a date is the whole UTC day), oldest first.',
      responses: [{ status: 200, description: 'The digests', body: AuditDigestList }],
    },
    run: async ({ query }) =>
      ok({ items: await digestAdapters().store.list(lowerBound(query.from), upperBound(query.to)) }),
  }),

  'GET /audit/digests/{id}': route({
    doc: {
      summary: 'One signed audit digest',
      description: 'As stored in the Object Lock bucket: heads, Merkle root, previous digest hash and signature.',
      responses: [{ status: 200, description: 'The digest', body: AuditDigest }],
      errors: ['NOT_FOUND'],
    },
    run: async (ctx) => {
      const digest = await digestAdapters().store.get(ctx.params.id);
      if (!digest) throw notFound('No such digest');
      return ok(digest);
    },
  }),
});

export const handler = httpHandler(routes);
