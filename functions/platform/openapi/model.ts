import * as z from '#platform/zod';

/** `GET /openapi.json`: an OpenAPI 3.1 document (only its frame is checked here; the document defines the rest). */
export const OpenApiDocumentBody = z.looseObject({
  openapi: z.string().check(z.regex(/^3\.1\.\d+$/)),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  servers: z.array(z.looseObject({ url: z.string() })),
  paths: z.record(z.string(), z.unknown()),
});
