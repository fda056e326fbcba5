import { notFound } from '#platform/errors';
import { logger } from '#platform/powertools';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, ok, route } from '#platform/http/router';
import { verifyAnchored } from './anchor';
import { auditedEntity } from './audited-entities';
import { digestReadAdapters } from './digest-read-adapters';
import { digestsFor } from './digest-index';
import { AuditDigest, AuditDigestList, DigestQuery, lowerBound, upperBound, VerifyQuery, VerifyResult } from './model';
import { AuditStore } from './store';

// A function of its own (audit-verify): the digest bucket (S3), the digest key (KMS) and the audited modules' stores
// are these routes' alone; the trail's search and export stay in the lighter audit function.
const audit = new AuditStore();

export const routes = defineRoutes({
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
      const { signer, store } = digestReadAdapters();
      let publicKeyPem: Promise<string> | undefined;
      const publicKeyOnce = () => (publicKeyPem ??= signer.publicKeyPem());
      const [records, entityVersion, found] = await Promise.all([
        audit.chain(entityType, entityId),
        // The owner's description of the entity: the chain's head must reach the entity's version.
        auditedEntity(entityType)?.currentVersion?.(entityId),
        // Through the signed index, the one digest that last listed the entity; every digest if the index fails.
        digestsFor(store, publicKeyOnce, entityType, entityId),
      ]);
      const { digests, problem } = found;
      if (problem) logger.warn('Audit digest index not used', { entityType, entityId, problem });
      const listed = digests.some((d) => d.heads.some((h) => h.entityType === entityType && h.entityId === entityId));
      // Only an id nothing knows is 404: a deleted chain of an existing (or digested) entity is `valid: false`.
      if (records.length === 0 && entityVersion === undefined && !listed) {
        throw notFound('No audit records for this entity');
      }
      const publicKey = listed ? await publicKeyOnce() : undefined;
      return ok({
        entityType,
        entityId,
        ...verifyAnchored(records, digests, publicKey, entityType, entityId, entityVersion),
      });
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
      ok({ items: await digestReadAdapters().store.list(lowerBound(query.from), upperBound(query.to)) }),
  }),

  'GET /audit/digests/{id}': route({
    doc: {
      summary: 'One signed audit digest',
      description: 'As stored in the Object Lock bucket: heads, Merkle root, previous digest hash and signature.',
      responses: [{ status: 200, description: 'The digest', body: AuditDigest }],
      errors: ['NOT_FOUND'],
    },
    run: async (ctx) => {
      const digest = await digestReadAdapters().store.get(ctx.params.id);
      if (!digest) throw notFound('No such digest');
      return ok(digest);
    },
  }),
});

export const handler = httpHandler(routes);
