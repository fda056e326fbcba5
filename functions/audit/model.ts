import * as z from 'zod';
import { PAGE_FIELDS, RANGE_IN_ORDER } from '#platform/http/query-schemas';

/** An ISO date (whole UTC day) or date-time; turned into the `at` bounds the audit table sorts by. */
const Instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

export const AuditQuery = z
  .strictObject({
    entityType: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/)
      .optional(),
    entityId: z.string().min(1).max(200).optional(),
    actor: z.string().min(1).max(200).optional(),
    action: z.string().min(1).max(64).optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    ...PAGE_FIELDS,
  })
  .refine((q) => q.entityId === undefined || q.entityType !== undefined, {
    message: 'entityId needs entityType',
    path: ['entityType'],
  })
  .refine(instantsInOrder, RANGE_IN_ORDER);
export type AuditQuery = z.infer<typeof AuditQuery>;

export const VerifyQuery = z.strictObject({
  entityType: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  entityId: z.string().min(1).max(200),
});

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
