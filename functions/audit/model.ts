import * as z from '#platform/zod';
import { PAGE_FIELDS, RANGE_IN_ORDER } from '#platform/http/query-schemas';
import { page } from '#platform/http/response-schemas';
import type { JsonValue } from './canonical-json';

/** An ISO date (whole UTC day) or date-time; turned into the `at` bounds the audit table sorts by. */
const Instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

/** What the audit trail can be narrowed by: the search and the audit exports take the same filters. */
export const AUDIT_FILTER_FIELDS = {
  entityType: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/))),
  entityId: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  actor: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  action: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  from: z.optional(Instant),
  to: z.optional(Instant),
};

export const ENTITY_ID_NEEDS_TYPE: [
  (q: { entityId?: string; entityType?: string }) => boolean,
  { message: string; path: string[] },
] = [
  (q) => q.entityId === undefined || q.entityType !== undefined,
  { message: 'entityId needs entityType', path: ['entityType'] },
];

export const AuditQuery = z
  .strictObject({ ...AUDIT_FILTER_FIELDS, ...PAGE_FIELDS })
  .check(z.refine(...ENTITY_ID_NEEDS_TYPE), z.refine(instantsInOrder, RANGE_IN_ORDER));
export type AuditQuery = z.infer<typeof AuditQuery>;

export const VerifyQuery = z.strictObject({
  entityType: z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/)),
  entityId: z.string().check(z.minLength(1), z.maxLength(200)),
});

export const DigestQuery = z
  .strictObject({ from: z.optional(Instant), to: z.optional(Instant) })
  .check(z.refine(instantsInOrder, RANGE_IN_ORDER));

/** A signed audit digest (functions/audit/digest.ts), as stored. */
export const AuditDigest = z.object({
  digestId: z.string(),
  createdAt: z.string(),
  since: z.nullable(z.string()),
  until: z.string(),
  previousDigestHash: z.string(),
  heads: z.array(z.object({ entityType: z.string(), entityId: z.string(), seq: z.int(), hash: z.string() })),
  merkleRoot: z.string(),
  keyId: z.string(),
  algorithm: z.literal('ECDSA_SHA_256'),
  hash: z.string(),
  signature: z.string(),
});
export const AuditDigestList = z.object({ items: z.array(AuditDigest) });

/** A date means the whole UTC day: from its first to its last millisecond. */
export function lowerBound(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length === 10 ? `${value}T00:00:00.000Z` : new Date(value).toISOString();
}

export function upperBound(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length === 10 ? `${value}T23:59:59.999Z` : new Date(value).toISOString();
}

/** Dates and date-times compared as the bounds they stand for: `from=2026-01-01&to=2026-01-01` is one whole day. */
export function instantsInOrder(q: { from?: string; to?: string }): boolean {
  const from = lowerBound(q.from);
  const to = upperBound(q.to);
  return from === undefined || to === undefined || from <= to;
}

// Response bodies of the audit routes; the record types of the trail are inferred from them.

/** Who did it: the user's id and their username at the time. */
export const AuditActor = z.object({ userId: z.string(), username: z.string() });
export type AuditActor = z.infer<typeof AuditActor>;

/** A value as it was stored: any JSON. */
const StoredValue = z.custom<JsonValue>(() => true).check(z.meta({ description: 'Any JSON value' }));

/** `{field: {from, to}}` for every field whose value changed; a missing side is `null`. */
export const FieldChanges = z.record(z.string(), z.object({ from: StoredValue, to: StoredValue }));
export type FieldChanges = z.infer<typeof FieldChanges>;

/** One audit record. `seq` is its position in the entity's chain (1, 2, …). */
export const AuditRecord = z
  .object({
    auditId: z.uuid(),
    entityType: z.string(),
    entityId: z.string(),
    seq: z.int().check(z.minimum(1)),
    action: z.string(),
    actor: AuditActor,
    at: z.iso.datetime(),
    requestId: z.nullable(z.string()),
    /** The caller's own `X-Request-ID`, if it sent one: for correlating, it proves nothing. */
    correlationId: z.optional(z.string()),
    reason: z.nullable(z.string()),
    version: z.nullable(z.int()),
    changes: FieldChanges,
    prevHash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  })
  .check(
    z.meta({
      examples: [
        {
          auditId: '3f0f6f5e-8d0b-4a57-9a53-4a8f3f0e2b11',
          entityType: 'charge',
          entityId: '6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21',
          seq: 2,
          action: 'update',
          actor: { userId: '0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c', username: 'qa.lead' },
          at: '2026-05-02T10:00:00.000Z',
          requestId: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
          reason: 'Released after lab check',
          version: 2,
          changes: { status: { from: 'quarantine', to: 'released' } },
          prevHash: '5d41402abc4b2a76b9719d911017c592ae2f7e4b3f1c2d8a9b6e5f4c3d2e1f0a',
          hash: '7c222fb2927d828af22f592134e8932480637c0d7a2c1e3f4b5a69788c9d0e1f',
        },
      ],
    }),
  );
export type AuditRecord = z.infer<typeof AuditRecord>;

export const AuditPage = page(AuditRecord);

/** The outcome of re-walking one entity's chain: the first broken link, if any. */
export const ChainCheck = z.object({
  valid: z.boolean(),
  records: z.int().check(z.minimum(0)),
  brokenAt: z.optional(
    z.object({
      seq: z.int(),
      auditId: z.string(),
      problem: z.enum(['hash_mismatch', 'prev_hash_mismatch', 'sequence_gap', 'derived_mismatch']),
    }),
  ),
  /**
   * Why the chain is not valid: `chain_broken` (a link, see brokenAt), `cut_off` (shorter than a digest vouched
   * for), `rehashed` (another record at the seq a digest vouched for: edited, reordered or replayed),
   * `chain_missing` (the entity or a digest exists, the records do not), `behind_entity` (the entity has a
   * version the chain has no record of), `digest_invalid` (the vouching digest fails its signature or root).
   */
  reason: z.optional(
    z.enum(['chain_broken', 'cut_off', 'rehashed', 'chain_missing', 'behind_entity', 'digest_invalid']),
  ),
  /** The newest signed digest that lists this chain, and the head it vouched for. */
  anchoredBy: z.optional(z.object({ digestId: z.string(), seq: z.int(), hash: z.string() })),
});
export type ChainCheck = z.infer<typeof ChainCheck>;

export const VerifyResult = z.extend(ChainCheck, { entityType: z.string(), entityId: z.string() }).check(
  z.meta({
    examples: [{ entityType: 'charge', entityId: '6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21', valid: true, records: 3 }],
  }),
);
