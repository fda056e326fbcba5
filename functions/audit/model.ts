import * as z from 'zod';

/** An ISO date (whole UTC day) or date-time; turned into the `at` bounds the audit table sorts by. */
const Instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

export const AuditQuery = z
  .strictObject({
    entityType: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/).optional(),
    entityId: z.string().min(1).max(200).optional(),
    actor: z.string().min(1).max(200).optional(),
    action: z.string().min(1).max(64).optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(2048).optional(),
  })
  .refine((q) => q.entityId === undefined || q.entityType !== undefined, {
    message: 'entityId needs entityType',
    path: ['entityType'],
  });
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
