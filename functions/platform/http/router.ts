import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from '#platform/zod';
import { type AuthenticatedUser, fromAuthorizerContext } from '#platform/auth-context';
import {
  AppError,
  badRequest,
  type ErrorCode,
  forbidden,
  notFound,
  unauthorized,
  validationError,
} from '#platform/errors';
import { findRoute, routeKey } from '#platform/routes';
import { duplicateKey } from './duplicate-keys';
import { header, JSON_CONTENT_TYPE } from './headers';
import { correlationIdOf, requestIdOf, serverRequestIdOf } from './request-state';
import type { RequestMeta } from '#platform/request-meta';

/** Request bodies above 1 MiB are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** `{id}` and `{n}` of `GET /charges/{id}/versions/{n}`, typed from the route key. */
export type PathParams<K extends string> = K extends `${string}{${infer P}}${infer Rest}`
  ? { readonly [name in P]: string } & PathParams<Rest>
  : Record<never, string>;

export interface RouteContext<B, Q, P = Record<string, string>> {
  event: APIGatewayProxyEvent;
  body: B;
  query: Q;
  /** The route's path parameters, by name (present whenever the route matched). */
  params: P;
  /** The caller, as the authorizer verified them; undefined only on public routes. */
  user: AuthenticatedUser | undefined;
  /** The caller on an authenticated route (throws 401 if there is none, which the authorizer prevents). */
  readonly caller: AuthenticatedUser;
  requestId: string;
  /** The request id and the caller's address, as services record them. */
  readonly meta: RequestMeta;
  header(name: string): string | undefined;
  /** A `Location` for an API path, with the prefix the client called us under (the stage `/v1` in AWS). */
  location(path: string): string;
}

/**
 * What the client's path has in front of the API's own: API Gateway reports `/v1/charges` as
 * `requestContext.path` and `/charges` as `path` (a custom domain's base path shows the same way).
 */
function basePath(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  return full && full !== event.path && full.endsWith(event.path) ? full.slice(0, -event.path.length) : '';
}

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** `Set-Cookie` values, one header each (API Gateway's `multiValueHeaders`: one map entry cannot hold two). */
  cookies?: readonly string[];
  /** A non-JSON payload (files); binary content is sent base64-encoded as API Gateway expects. */
  raw?: { contentType: string; data: string | Buffer };
}

/** Response headers a route documents beyond those every answer carries. */
export type DocumentedHeader = 'ETag' | 'Location' | 'Content-Disposition' | 'Retry-After';

/** One answer of a route: its successes, and an error status whose body says more than the error shape. */
export interface ResponseDoc {
  status: number;
  description: string;
  /** The JSON body. */
  body?: z.core.$ZodType;
  /** A file body instead: its media types. */
  files?: readonly string[];
  headers?: readonly DocumentedHeader[];
}

/**
 * What a route answers, for the API description (`npm run openapi`, scripts/openapi.ts); the router does not read
 * it. The errors every route of its kind can give (401/403 by access, 404 for path ids, 400/413/415/422 for bodies
 * and queries, 429, 500, 503) are derived; `errors` names the route's own.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  responses: readonly ResponseDoc[];
  errors?: readonly ErrorCode[];
  /** A change guarded by `If-Match` (428 without one, 412 when stale). */
  ifMatch?: boolean;
}

// Core schema types: the router only parses and documents them, so any zod schema fits.
export interface RouteSpec<B = undefined, Q = Record<string, string | undefined>, P = Record<string, string>> {
  body?: z.core.$ZodType<B>;
  /** A route whose body may be left out entirely: the schema then sees `{}`. */
  bodyOptional?: boolean;
  query?: z.core.$ZodType<Q>;
  doc?: RouteDoc;
  run(ctx: RouteContext<B, Q, P>): Promise<HttpResult> | HttpResult;
}

/**
 * Identity helper that lets TypeScript infer body/query types from the schemas, and the path parameters from
 * the route key the spec is filed under in `httpHandler({...})`.
 */
export function route<B = undefined, Q = Record<string, string | undefined>, P = Record<string, string>>(
  spec: RouteSpec<B, Q, P>,
): RouteSpec<B, Q, P> {
  return spec;
}

/** A function's routes by key, each spec typed with the path parameters its key names. */
export type RouteTable<R> = {
  [K in keyof R & string]: R[K] extends RouteSpec<infer B, infer Q, unknown> ? RouteSpec<B, Q, PathParams<K>> : never;
};

/**
 * A function's routes, typed as `httpHandler` types them (path parameters from the keys), for a module that exports
 * them apart from its handler: the API description reads them without the middleware stack.
 */
export function defineRoutes<R>(routes: RouteTable<R> & R): RouteTable<R> & R {
  return routes;
}

export const ok = (body: unknown, headers?: Record<string, string>): HttpResult => ({ statusCode: 200, body, headers });
export const created = (body: unknown, headers?: Record<string, string>): HttpResult => ({
  statusCode: 201,
  body,
  headers,
});
export const noContent = (headers?: Record<string, string>): HttpResult => ({ statusCode: 204, headers });

/** Zod issues → the API's error classes: unknown fields are a malformed request (400), the rest 422. */
export function toValidationError(error: z.core.$ZodError, where: 'body' | 'query'): AppError {
  const unknownFields = error.issues.some((i) => i.code === 'unrecognized_keys');
  // Zod still runs an object's refinements when the only issue is an unknown key: "Nothing to change" next to
  // `{"roles": …}` on /users/me misleads, since the request did name a change, just one it may not make.
  const issues = unknownFields
    ? error.issues.filter((i) => !(i.code === 'custom' && i.path.length === 0))
    : error.issues;
  const details = issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    code: issue.code,
    message: issue.message,
    ...(issue.code === 'unrecognized_keys' ? { keys: issue.keys } : {}),
  }));
  if (!unknownFields) return validationError('The request is not valid', details);
  return badRequest(
    where === 'query'
      ? 'The request has query parameters this route does not know'
      : 'The request contains fields that cannot be set',
    details,
  );
}

/**
 * Strict UTF-8 (bodies are JSON in UTF-8): a byte sequence that is not UTF-8 is refused, not turned into
 * U+FFFD and stored. `ignoreBOM` keeps a leading BOM in the text, so JSON.parse refuses it.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The declared type must be JSON, and a declared charset UTF-8: a Latin-1 or UTF-16 body read as UTF-8 would be
 * stored altered (`Müller` as `M�ller`), so another charset is 415 rather than a guess.
 */
function checkContentType(value: string | undefined): void {
  const [type = '', ...params] = (value ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be application/json');
  }
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON in UTF-8 (charset=utf-8)', {
        details: { charset },
      });
    }
  }
}

/**
 * 413 → 415 → 400, in the order a gateway would check them: size, declared type and charset, then encoding and
 * syntax. A text body arrives as a string (API Gateway has decoded it); a base64 one (binary, or bytes the local
 * server found not to be UTF-8) is decoded here, strictly.
 */
export function parseJsonBody(event: APIGatewayProxyEvent): unknown {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : undefined;
  if ((bytes ? bytes.length : Buffer.byteLength(raw, 'utf8')) > MAX_BODY_BYTES) {
    throw new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  checkContentType(header(event.headers, 'content-type'));
  let text = raw;
  if (bytes) {
    try {
      text = UTF8.decode(bytes);
    } catch {
      throw badRequest('The request body is not valid UTF-8');
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw badRequest('The request body is not valid JSON');
  }
  const found = duplicateKey(text);
  if (found !== undefined) {
    // A key can be as long as the body: the answer names the start of it.
    const duplicate = found.length > 200 ? `${found.slice(0, 200)}…` : found;
    throw badRequest(`The request body names "${duplicate}" more than once`, [
      { path: `body.${duplicate}`, code: 'duplicate_key', message: 'Given more than once; give it once' },
    ]);
  }
  return body;
}

type AnyRouteSpec = RouteSpec<unknown, unknown, unknown>;

/** The query of a route that declares none: unknown query parameters are 400 everywhere, not ignored. */
const NO_QUERY = z.strictObject({});

/**
 * `?status=&articleId=A` leaves status out: an empty value filters nothing. A parameter given more than once is
 * 400 naming it: API Gateway's `queryStringParameters` keeps only the last copy, so `?status=a&status=` would
 * silently drop the filter the client asked for.
 */
function givenQuery(event: APIGatewayProxyEvent): Record<string, string> {
  // No prototype: `?__proto__=1` is an unknown parameter like any other (400), not a prototype swap that hides it.
  const given = Object.create(null) as Record<string, string>;
  if (!event.queryStringParameters) return given;
  const all = event.multiValueQueryStringParameters;
  let repeated: string[] | undefined;
  for (const [k, v] of Object.entries(event.queryStringParameters)) {
    // Own values only: `toString` must never be read from Object.prototype.
    const copies = all && Object.hasOwn(all, k) ? all[k]?.length : undefined;
    if ((copies ?? 1) > 1) (repeated ??= []).push(k);
    else if (v !== undefined && v !== '') given[k] = v;
  }
  if (repeated) {
    throw badRequest(
      'A query parameter was given more than once',
      repeated.map((k) => ({ path: `query.${k}`, code: 'repeated', message: 'Given more than once; give it once' })),
    );
  }
  return given;
}

/**
 * Every id this server issues is a UUID. A path parameter no issued id can match — longer than this, or holding a
 * control character — is 404 before any table is asked: DynamoDB refuses a key over 2048 bytes with a
 * ValidationException (a 500), and no route should have to remember that.
 */
const MAX_PATH_PARAMETER_LENGTH = 128;
const CONTROL_CHARACTER = /\p{Cc}/u;

function assertPlausiblePathParameters(event: APIGatewayProxyEvent): void {
  const params = event.pathParameters;
  if (!params) return;
  for (const k in params) {
    const v = params[k];
    if (v !== undefined && (v.length > MAX_PATH_PARAMETER_LENGTH || CONTROL_CHARACTER.test(v))) throw notFound();
  }
}

function pathParams(event: APIGatewayProxyEvent): Record<string, string> {
  const params: Record<string, string> = {};
  if (!event.pathParameters) return params;
  for (const [k, v] of Object.entries(event.pathParameters)) if (v !== undefined) params[k] = v;
  return params;
}

/** A class rather than an object literal of closures: one is built per request, its methods once. */
class Context<B, Q> implements RouteContext<B, Q> {
  readonly params: Record<string, string>;
  readonly requestId: string;

  constructor(
    readonly event: APIGatewayProxyEvent,
    readonly body: B,
    readonly query: Q,
    readonly user: AuthenticatedUser | undefined,
  ) {
    this.params = pathParams(event);
    this.requestId = requestIdOf(event);
  }

  get meta(): RequestMeta {
    const correlationId = correlationIdOf(this.event);
    const userAgent = this.event.requestContext?.identity?.userAgent ?? undefined;
    return {
      requestId: serverRequestIdOf(this.event),
      ...(correlationId !== undefined ? { correlationId } : {}),
      sourceIp: this.event.requestContext?.identity?.sourceIp ?? '',
      ...(userAgent ? { userAgent } : {}),
    };
  }

  get caller(): AuthenticatedUser {
    if (!this.user) throw unauthorized();
    return this.user;
  }

  header(name: string): string | undefined {
    return header(this.event.headers, name);
  }

  location(path: string): string {
    return `${basePath(this.event)}${path}`;
  }
}

/**
 * A function's routes, keyed `METHOD /resource/{param}` exactly as in the shared route table. The router
 * checks the route's permission again (defence in depth behind the authorizer), parses and validates
 * body and query, then calls `run`.
 */
export function createRouter(routes: Record<string, AnyRouteSpec>) {
  return async function dispatch(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const key = routeKey(event.httpMethod, event.resource);
    const spec = routes[key];
    const definition = findRoute(event.httpMethod, event.resource);
    if (!spec || !definition) throw notFound('No such route');

    const user = fromAuthorizerContext(event.requestContext.authorizer);
    if (definition.access !== 'public') {
      if (!user) throw unauthorized();
      if (definition.access !== 'authenticated' && !user.permissions.includes(definition.access)) throw forbidden();
    }
    assertPlausiblePathParameters(event);

    let body: unknown;
    if (spec.body) {
      let raw = parseJsonBody(event);
      if (raw === undefined && spec.bodyOptional) raw = {};
      if (raw === undefined) throw badRequest('A JSON request body is required');
      const parsed = z.safeParse(spec.body, raw);
      if (!parsed.success) throw toValidationError(parsed.error, 'body');
      body = parsed.data;
    }

    // A route without a query schema takes no query parameters: any given one is unknown, so 400.
    let query: unknown = givenQuery(event);
    if (spec.query || Object.keys(query as object).length > 0) {
      const parsed = z.safeParse(spec.query ?? NO_QUERY, query);
      if (!parsed.success) throw toValidationError(parsed.error, 'query');
      query = parsed.data;
    }

    const result = await spec.run(new Context(event, body, query, user));
    return toProxyResult(result);
  };
}

export function toProxyResult(result: HttpResult): APIGatewayProxyResult {
  const proxy = toSingleValueResult(result);
  if (result.cookies?.length) proxy.multiValueHeaders = { 'Set-Cookie': [...result.cookies] };
  return proxy;
}

function toSingleValueResult(result: HttpResult): APIGatewayProxyResult {
  if (result.raw) {
    const binary = Buffer.isBuffer(result.raw.data);
    return {
      statusCode: result.statusCode,
      headers: Object.assign({ 'Content-Type': result.raw.contentType }, result.headers),
      body: binary ? (result.raw.data as Buffer).toString('base64') : (result.raw.data as string),
      isBase64Encoded: binary,
    };
  }
  if (result.body === undefined)
    return { statusCode: result.statusCode, headers: Object.assign({}, result.headers), body: '' };
  return {
    statusCode: result.statusCode,
    headers: Object.assign({ 'Content-Type': JSON_CONTENT_TYPE }, result.headers),
    body: JSON.stringify(result.body),
  };
}
