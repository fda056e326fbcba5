import * as z from '#platform/zod';
import { ERROR_STATUS, type ErrorCode } from '#platform/errors';

/**
 * Response shapes every module shares: the error body and the page of a list. Each module's own response bodies
 * live in its model.ts; the API description (scripts/openapi.ts) is built from them.
 */

/** One field problem of a 400 (unknown fields, repeated parameters) or a 422 (validation). */
export const FieldIssue = z.object({
  path: z.string(),
  code: z.string(),
  message: z.string(),
  keys: z.optional(z.array(z.string())),
});

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/**
 * Every error, from a handler or from API Gateway itself. `details` is an array of field problems for 400/422 field
 * errors, an object otherwise (`{}` where the code and message say it all); every 4xx has it, a 5xx never.
 * Registered rather than `.check(z.meta(…))`: a check would be copied into every `z.extend` of it (its examples
 * with it), and `z.partial`/`z.pick` refuse an object that has one.
 */
export const ApiError = z
  .object({
    error: z.object({
      id: z.string().check(z.describe("The `error_id` of the log line (API Gateway's own answers: its request id).")),
      code: z.enum(ERROR_CODES),
      message: z.string(),
      timestamp: z
        .string()
        .check(z.describe("ISO 8601 from a handler; API Gateway's own answers use its request time format.")),
      details: z.optional(z.union([z.array(FieldIssue), z.record(z.string(), z.unknown())])),
    }),
  })
  .register(z.globalRegistry, {
    examples: [
      {
        error: {
          id: '9b1f0a6e-4c3d-4e2f-8a1b-2c3d4e5f6a7b',
          code: 'VALIDATION_ERROR',
          message: 'The request is not valid',
          timestamp: '2026-05-02T10:00:00.000Z',
          details: [{ path: 'body.quantity', code: 'too_small', message: 'Too small: expected number to be >0' }],
        },
      },
    ],
  });
export type ApiError = z.infer<typeof ApiError>;

/** A page of a list: follow `nextCursor` until it is `null`. */
export const page = <T extends z.core.$ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.nullable(z.string()).check(z.describe('Opaque; valid only for the same query.')),
  });
