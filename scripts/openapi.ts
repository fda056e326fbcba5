/**
 * `npm run openapi`: builds the API's OpenAPI 3.1 document from the code that serves the API — the route table
 * (functions/platform/routes.ts), each function's route specs (their `body`, `query` and `doc`) and the zod schemas
 * of the modules' model.ts files — and writes it with the client types generated from it:
 * - `functions/platform/openapi/openapi.json`, which the docs function serves (`GET /openapi.json`, `GET /docs`);
 * - `functions/platform/openapi/api-types.ts` (openapi-typescript), which the typed client uses (scripts/api-client.ts).
 * Nothing in either file is written by hand; test/unit/openapi.test.ts fails when they are stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import * as prettier from 'prettier';
import * as z from '#platform/zod';
import { ERROR_STATUS, type ErrorCode } from '#platform/errors';
import { MAX_BODY_BYTES, type DocumentedHeader, type RouteSpec } from '#platform/http/router';
import { SECURITY_HEADERS } from '#platform/http/headers';
import { FUNCTIONS, ROUTES, type FunctionId, type RouteDefinition } from '#platform/routes';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const DOCUMENT_FILE = 'functions/platform/openapi/openapi.json';
export const TYPES_FILE = 'functions/platform/openapi/api-types.ts';

type Json = Record<string, unknown>;
type AnySpec = RouteSpec<unknown, unknown, unknown>;

/**
 * Modules whose exported zod schemas become named components (the export's name is the component's). A schema
 * nested in another is a `$ref` to its component when it is exported here, inline otherwise.
 */
const MODEL_MODULES = [
  '#platform/http/response-schemas',
  '#charges/model',
  '#audit/model',
  '#users/model',
  '#auth/model',
  '#service-accounts/model',
  '#reports/model',
  '#analytics/model',
  '#signing/model',
  '#ops/model',
  '#platform/openapi/model',
];

/** The reference's sections, in this order. */
const TAGS = [
  { name: 'Authentication', description: "Sign-in, tokens and the caller's own account." },
  { name: 'Users', description: 'User administration (`users:manage`).' },
  {
    name: 'Service accounts',
    description:
      'Machine identities (`users:manage`) and their OAuth 2.0 client-credentials token endpoint, e.g. for Prometheus.',
  },
  {
    name: 'Charges',
    description:
      'Production batch records: create, read, change with `If-Match`, soft delete, version history. Status changes ' +
      'follow the lifecycle; releasing needs a second person.',
  },
  { name: 'Audit trail', description: 'The hash-chained record of every change, and its verification.' },
  {
    name: 'Reports',
    description: 'Exports (CSV, XLSX, PDF), the Chargenbericht, report definitions with schedules, and their runs.',
  },
  {
    name: 'Analytics and dashboards',
    description: 'Charges and QA decisions over time, from kept aggregates; dashboards of such queries.',
  },
  { name: 'Signing keys', description: 'The public keys that verify access tokens, and their rotation.' },
  { name: 'Health and metrics', description: 'Probes for monitors and load balancers, and metrics.' },
  { name: 'API description', description: 'This document and its reference page.' },
] as const;
type TagName = (typeof TAGS)[number]['name'];

/** The section of each function behind the API. */
const TAG_OF: Partial<Record<FunctionId, TagName>> = {
  auth: 'Authentication',
  'auth-sso': 'Authentication',
  'password-reset': 'Authentication',
  users: 'Users',
  'service-accounts': 'Service accounts',
  charges: 'Charges',
  audit: 'Audit trail',
  'audit-verify': 'Audit trail',
  reports: 'Reports',
  analytics: 'Analytics and dashboards',
  keys: 'Signing keys',
  health: 'Health and metrics',
  readiness: 'Health and metrics',
  ops: 'Health and metrics',
  metrics: 'Health and metrics',
  docs: 'API description',
};

/** The shared error answer of each status, named as components.responses calls it. */
const ERROR_RESPONSES: Readonly<Record<number, { name: string; description: string }>> = {
  400: {
    name: 'BadRequest',
    description: 'Malformed: bad JSON, unknown or repeated fields or parameters, a bad cursor',
  },
  401: { name: 'Unauthorized', description: 'No valid bearer token (or, at sign-in, wrong credentials)' },
  403: { name: 'Forbidden', description: "The token lacks the route's permission, or a rule forbids the change" },
  404: { name: 'NotFound', description: 'No such resource (or no such route, for an authenticated caller)' },
  405: { name: 'MethodNotAllowed', description: 'The path does not serve this method; `Allow` lists those it does' },
  409: { name: 'Conflict', description: 'The current state does not allow this' },
  412: { name: 'PreconditionFailed', description: '`If-Match` does not name the current version' },
  413: {
    name: 'PayloadTooLarge',
    description: `The body is over ${MAX_BODY_BYTES} bytes (a JSON body), or over API Gateway's 10 MB (any request)`,
  },
  415: { name: 'UnsupportedMediaType', description: 'The body is not `application/json` in UTF-8' },
  422: {
    name: 'UnprocessableContent',
    description: 'Valid JSON, but a value breaks a rule (field paths in `details`)',
  },
  423: { name: 'Locked', description: 'Too many failed sign-ins: locked until `Retry-After`' },
  428: { name: 'PreconditionRequired', description: 'A change needs `If-Match` with the version read' },
  429: { name: 'TooManyRequests', description: 'A rate limit is spent: retry after `Retry-After` seconds' },
  500: { name: 'InternalError', description: 'An unexpected error (logged under `error.id`)' },
  503: { name: 'Unavailable', description: 'A dependency is unavailable: retry after `Retry-After` seconds' },
};

/** Response headers, each described once in components.headers. */
const HEADERS: Readonly<Record<string, { description: string; schema: Json }>> = {
  'X-Request-ID': {
    description: "The request's correlation id: the caller's own if it is 1–128 of `[A-Za-z0-9._:-]`, else a new one.",
    schema: { type: 'string' },
  },
  ...Object.fromEntries(
    Object.entries(SECURITY_HEADERS).map(([name, value]) => [
      name,
      {
        description: `A security header on every answer (\`${value}\` unless a route says otherwise).`,
        schema: { type: 'string' },
      },
    ]),
  ),
  'X-RateLimit-Limit': {
    description: "Requests allowed in the caller's window.",
    schema: { type: 'string', pattern: '^\\d+$' },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests left in the window.',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
  'X-RateLimit-Reset': {
    description: 'When the window resets (epoch seconds).',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string', pattern: '^\\d+$' } },
  'WWW-Authenticate': { description: 'The scheme to authenticate with: `Bearer`.', schema: { type: 'string' } },
  Allow: { description: 'The methods the path serves.', schema: { type: 'string' } },
  ETag: {
    description: 'The version of the resource, quoted (`"3"`): send it back as `If-Match`.',
    schema: { type: 'string' },
  },
  Location: {
    description:
      'The new resource (201) or where to fetch the answer (303), with the stage prefix the client used; where a browser goes next (302).',
    schema: { type: 'string' },
  },
  'Content-Disposition': { description: 'The file name to save the attachment as.', schema: { type: 'string' } },
};

const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];
const EVERY_ANSWER = ['X-Request-ID', ...Object.keys(SECURITY_HEADERS)];

const ref = (section: string, name: string) => ({ $ref: `#/components/${section}/${name}` });

/**
 * A reference cannot change what it points at, and every header component is `required`: a header that only may
 * come (`X-RateLimit-*` on a 403 or 429 from API Gateway itself) is written out in place instead.
 */
const headerRefs = (names: readonly string[], required: boolean) =>
  Object.fromEntries(names.map((name) => [name, required ? ref('headers', name) : HEADERS[name]]));

/** Every exported zod schema of the model modules, by schema, with its export name. */
async function namedSchemas(): Promise<Map<z.core.$ZodType, string>> {
  const named = new Map<z.core.$ZodType, string>();
  const taken = new Map<string, string>();
  for (const specifier of MODEL_MODULES) {
    const module = (await import(specifier)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (!(value instanceof z.core.$ZodType) || named.has(value)) continue;
      const other = taken.get(name);
      if (other) throw new Error(`Two schemas are exported as ${name} (${other}, ${specifier}): rename one`);
      named.set(value, name);
      taken.set(name, specifier);
    }
  }
  return named;
}

/** Formats a validator checks by themselves: zod's regex for them only adds noise to the document. */
const FORMATS_WITHOUT_PATTERN = new Set(['uuid', 'date', 'date-time', 'email']);

/**
 * What every conversion shares: JSON Schema 2020-12 (OpenAPI 3.1's dialect), refinements and transforms left out
 * (the server checks more than the document says), and zod's redundant bounds dropped.
 */
const conversion = (io: 'input' | 'output') => ({
  target: 'draft-2020-12' as const,
  io,
  unrepresentable: 'any' as const,
  override: ({ jsonSchema }: { jsonSchema: Json }) => {
    if (typeof jsonSchema.format === 'string' && FORMATS_WITHOUT_PATTERN.has(jsonSchema.format))
      delete jsonSchema.pattern;
    if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    if (JSON.stringify(jsonSchema.propertyNames) === '{"type":"string"}') delete jsonSchema.propertyNames;
  },
});

/** zod → JSON Schema components; `$schema`/`$id` stripped (OpenAPI 3.1 schemas are 2020-12 already). */
function toComponents(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, { ...conversion(io), uri: (id) => `#/components/schemas/${id}` });
  if ('__shared' in schemas) throw new Error('A recursive schema is not exported from a model module: export it');
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _s, $id: _i, ...rest } = schema as Json;
      return [id, rest];
    }),
  );
}

/** The example of a schema (its first `.meta({ examples })`), for a media type. */
const exampleOf = (schema: z.core.$ZodType | undefined): unknown =>
  (schema && (z.globalRegistry.get(schema)?.examples as unknown[] | undefined))?.[0];

/** Which errors a route can answer, by status: from its access, path, query and body, and its own list. */
function errorStatuses(route: RouteDefinition, spec: AnySpec): number[] {
  // Any request: a bad query parameter, a body over the gateway's limit, throttling, a fault, an outage.
  const codes = new Set<ErrorCode>([
    'BAD_REQUEST',
    'PAYLOAD_TOO_LARGE',
    'RATE_LIMITED',
    'INTERNAL_ERROR',
    'UNAVAILABLE',
  ]);
  if (route.access !== 'public') codes.add('UNAUTHORIZED');
  // The authorizer's answer to a restricted account (a temporary password, a required MFA enrolment), on any route.
  if (route.access !== 'public') codes.add('PASSWORD_CHANGE_REQUIRED').add('MFA_ENROLMENT_REQUIRED');
  if (route.access !== 'public' && route.access !== 'authenticated') codes.add('FORBIDDEN');
  if (route.path.includes('{')) codes.add('NOT_FOUND');
  if (spec.query) codes.add('VALIDATION_ERROR');
  if (spec.body) codes.add('UNSUPPORTED_MEDIA_TYPE').add('VALIDATION_ERROR');
  if (spec.doc?.ifMatch) codes.add('PRECONDITION_REQUIRED').add('PRECONDITION_FAILED');
  for (const code of spec.doc?.errors ?? []) codes.add(code);
  return [...new Set([...codes].map((code) => ERROR_STATUS[code]))].sort();
}

/** `GET /charges/{id}/history` → `getChargesByIdHistory`. */
function operationId(route: RouteDefinition): string {
  const words = route.path
    .split(/[/.-]/)
    .filter(Boolean)
    .map((part) => (part.startsWith('{') ? `by-${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split('-'));
  return route.method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

const stripParameters = (mediaType: string) => mediaType.split(';')[0]!.trim();

/** The route specs of every function behind the API, by route key. */
async function routeSpecs(): Promise<Map<string, AnySpec>> {
  const specs = new Map<string, AnySpec>();
  for (const functionId of new Set(ROUTES.map((r) => r.function))) {
    const module = (await import(resolve(PROJECT_ROOT, FUNCTIONS[functionId].entry))) as {
      routes?: Record<string, AnySpec>;
    };
    if (!module.routes) throw new Error(`${FUNCTIONS[functionId].entry} exports no \`routes\` (defineRoutes)`);
    for (const [key, spec] of Object.entries(module.routes)) specs.set(key, spec);
  }
  return specs;
}

const INTRODUCTION = `Production batch records (charges) with a tamper-evident audit trail, reports and user administration.

In AWS the API is served on stage \`v1\` (\`https://…/v1/charges\`); locally \`npm start\` serves it on \`http://127.0.0.1:3000\`.

**Authentication.** Send \`Authorization: Bearer <token>\`: an access token from \`POST /auth/login\`, or a token of a configured identity provider. Public routes need none. A route that names a permission (\`x-required-permission\`) needs a token whose roles grant it.

**Errors.** Every error has one shape, \`{"error": {"id", "code", "message", "timestamp", "details"}}\`: \`details\` is an array of field problems for a 400/422 about fields, an object otherwise; every 4xx has it, a 5xx never. \`code\` tells the cases of one status apart.

**Every answer** carries \`X-Request-ID\` and the security headers; authenticated answers carry \`X-RateLimit-Limit\`, \`X-RateLimit-Remaining\` and \`X-RateLimit-Reset\`.

**Unknown routes.** A path this document does not list is 401 for a caller without a valid token (nothing is revealed) and 404 for one with; a listed path called with another method is 405 with \`Allow\` (401 first where the path needs a token). \`x-unmatched-requests\` lists these answers.`;

/** The whole document. */
export async function buildDocument(): Promise<Json> {
  const named = await namedSchemas();
  const specs = await routeSpecs();
  const version = (JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;

  const responses = z.registry<{ id: string }>();
  const requests = z.registry<{ id: string }>();
  for (const [schema, name] of named) responses.add(schema, { id: name });
  const requestName = (schema: z.core.$ZodType) => {
    const name = named.get(schema);
    if (!name) throw new Error('A request body schema must be exported from a model module');
    if (!requests.has(schema)) requests.add(schema, { id: name });
    return name;
  };

  const paths: Record<string, Record<string, Json>> = {};
  const usedTags = new Set<string>();
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const spec = specs.get(key);
    if (!spec) throw new Error(`${key} is in ROUTES but no function's \`routes\` serves it`);
    const doc = spec.doc;
    if (!doc) throw new Error(`${key} has no \`doc\`: say what it answers`);
    if (Boolean(route.jsonBody) !== Boolean(spec.body)) {
      throw new Error(
        `${key}: ROUTES says jsonBody ${Boolean(route.jsonBody)}, the route spec ${spec.body ? 'has' : 'has no'} body`,
      );
    }
    const tag = TAG_OF[route.function];
    if (!tag) throw new Error(`No section for function ${route.function} (scripts/openapi.ts TAG_OF)`);
    usedTags.add(tag);
    const authenticated = route.access !== 'public';

    const parameters: Json[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      description: 'A server-issued id',
      schema: { type: 'string', maxLength: 128 },
    }));
    if (spec.query) {
      const query = z.toJSONSchema(spec.query, conversion('input')) as Json;
      const required = new Set((query.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, Json>)) {
        const { description, ...rest } = schema;
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    }
    if (doc.ifMatch) {
      parameters.push({
        name: 'If-Match',
        in: 'header',
        required: true,
        description: 'The `ETag` of the version the change is based on (`"3"`); missing is 428, another version 412.',
        schema: { type: 'string' },
      });
    }

    const operationResponses: Record<string, unknown> = {};
    for (const response of doc.responses) {
      const content: Json = {};
      if (response.body) {
        const name = named.get(response.body);
        if (!name) throw new Error(`${key}: its ${response.status} body schema must be exported from a model module`);
        const example = exampleOf(response.body);
        content['application/json'] = { schema: ref('schemas', name), ...(example ? { example } : {}) };
      }
      for (const mediaType of response.files ?? [])
        content[stripParameters(mediaType)] = { schema: { type: 'string', format: 'binary' } };
      const documented: readonly DocumentedHeader[] = response.headers ?? [];
      operationResponses[String(response.status)] = {
        description: response.description,
        headers: {
          ...headerRefs(EVERY_ANSWER, true),
          ...(authenticated && response.status < 400 ? headerRefs(RATE_LIMIT_HEADERS, true) : {}),
          ...headerRefs(documented, true),
        },
        ...(Object.keys(content).length ? { content } : {}),
      };
    }
    for (const status of errorStatuses(route, spec)) {
      operationResponses[String(status)] ??= ref('responses', ERROR_RESPONSES[status]!.name);
    }

    const ownErrors = doc.errors?.length
      ? `\n\nErrors of this route: ${doc.errors.map((c) => `\`${c}\``).join(', ')}.`
      : '';
    const permission = authenticated && route.access !== 'authenticated' ? route.access : undefined;
    const access = !authenticated
      ? 'Public: no token.'
      : permission
        ? `Needs a token with \`${permission}\`.`
        : 'Needs a valid token.';
    const operation: Json = {
      operationId: operationId(route),
      tags: [tag],
      summary: doc.summary,
      description: `${doc.description ? `${doc.description}\n\n` : ''}${access}${ownErrors}`,
      ...(authenticated ? {} : { security: [] }),
      ...(permission ? { 'x-required-permission': permission } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body
        ? {
            requestBody: {
              required: !spec.bodyOptional,
              content: {
                'application/json': {
                  schema: ref('schemas', requestName(spec.body)),
                  ...(exampleOf(spec.body) ? { example: exampleOf(spec.body) } : {}),
                },
              },
            },
          }
        : {}),
      responses: Object.fromEntries(Object.entries(operationResponses).sort(([a], [b]) => a.localeCompare(b))),
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  for (const key of specs.keys()) {
    const [method, path] = key.split(' ') as [string, string];
    if (!paths[path]?.[method.toLowerCase()]) throw new Error(`${key} is served by a function but not in ROUTES`);
  }

  const errorResponses = Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, { name, description }]) => {
      const codes = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => ERROR_STATUS[code] === Number(status));
      const own: Record<number, readonly string[]> = {
        401: ['WWW-Authenticate'],
        405: ['Allow'],
        423: ['Retry-After'],
        429: ['Retry-After'],
        503: ['Retry-After'],
      };
      const optional: Record<number, readonly string[]> = {
        403: RATE_LIMIT_HEADERS,
        409: ['Retry-After'],
        429: RATE_LIMIT_HEADERS,
      };
      return [
        name,
        {
          description,
          headers: {
            ...headerRefs(EVERY_ANSWER, true),
            ...headerRefs(own[Number(status)] ?? [], true),
            ...headerRefs(optional[Number(status)] ?? [], false),
          },
          content: {
            'application/json': {
              schema: {
                allOf: [
                  ref('schemas', 'ApiError'),
                  { properties: { error: { properties: { code: { enum: codes } } } } },
                ],
              },
            },
          },
        },
      ];
    }),
  );
  const unmatched = (statuses: number[]) =>
    Object.fromEntries(statuses.map((status) => [String(status), ref('responses', ERROR_RESPONSES[status]!.name)]));

  const schemas = { ...toComponents(responses, 'output'), ...toComponents(requests, 'input') };
  const document: Json = {
    openapi: '3.1.0',
    info: { title: 'Charge Records API', version, description: INTRODUCTION },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'Local runtime (`npm start`)' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/v1',
        description: 'AWS, stage v1',
        variables: { apiId: { default: 'your-api-id' }, region: { default: 'eu-central-1' } },
      },
    ],
    security: [{ accessToken: [] }, { externalToken: [] }],
    tags: TAGS.filter((t) => usedTags.has(t.name)),
    paths,
    components: {
      securitySchemes: {
        accessToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An access token from `POST /auth/login` or `POST /auth/refresh` (RS256; keys at `/.well-known/jwks.json`).',
        },
        externalToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A token of an identity provider configured in `OIDC_PROVIDERS`; roles come from its claims. Sent the same way.',
        },
      },
      headers: Object.fromEntries(
        Object.entries(HEADERS).map(([name, header]) => [name, { ...header, required: true }]),
      ),
      responses: errorResponses,
      schemas: pruneUnused(schemas, { paths, errorResponses }),
    },
    'x-unmatched-requests': {
      description: 'Answers to a request no operation of this document serves.',
      unknownPath: unmatched([401, 404, 413, 429, 500, 503]),
      wrongMethod: unmatched([401, 405, 413, 429, 500, 503]),
    },
  };
  return document;
}

/** Only the schemas some operation or response reaches (exported helpers of the model modules are not API). */
function pruneUnused(schemas: Record<string, Json>, roots: unknown): Record<string, Json> {
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
        const name = value.slice('#/components/schemas/'.length);
        if (!used.has(name)) {
          used.add(name);
          visit(schemas[name]);
        }
      } else visit(value);
    }
  };
  visit(roots);
  return Object.fromEntries(
    Object.entries(schemas)
      .filter(([name]) => used.has(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

async function format(text: string, file: string): Promise<string> {
  const options = await prettier.resolveConfig(resolve(PROJECT_ROOT, file));
  return prettier.format(text, { ...options, filepath: resolve(PROJECT_ROOT, file) });
}

/** The two generated files, as they should be on disk. */
export async function generate(): Promise<{ file: string; expected: string }[]> {
  const document = await buildDocument();
  const types = astToString(await openapiTS(document as unknown as OpenAPI3));
  return [
    { file: DOCUMENT_FILE, expected: await format(JSON.stringify(document), DOCUMENT_FILE) },
    { file: TYPES_FILE, expected: await format(types, TYPES_FILE) },
  ];
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  for (const { file, expected } of await generate()) {
    const path = resolve(PROJECT_ROOT, file);
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === expected) console.log(`${file}: up to date`);
    else {
      writeFileSync(path, expected);
      console.log(`${file}: regenerated`);
    }
  }
}
