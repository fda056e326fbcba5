import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ZodType } from 'zod';
import * as z from 'zod';
import { type AuthenticatedUser, fromAuthorizerContext } from '../auth-context';
import { AppError, badRequest, forbidden, notFound, unauthorized, validationError } from '../errors';
import { findRoute, routeKey } from '../routes';
import { header, JSON_CONTENT_TYPE } from './headers';
import { requestIdOf } from './request-state';

/** SPEC §4: request bodies above 1 MiB are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface RouteContext<B, Q> {
  event: APIGatewayProxyEvent;
  body: B;
  query: Q;
  params: Record<string, string>;
  /** The caller, as the authorizer verified them; undefined only on public routes. */
  user: AuthenticatedUser | undefined;
  /** The caller on an authenticated route (throws 401 if there is none, which the authorizer prevents). */
  readonly caller: AuthenticatedUser;
  requestId: string;
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
  /** A non-JSON payload (files); binary content is sent base64-encoded as API Gateway expects. */
  raw?: { contentType: string; data: string | Buffer };
}

export interface RouteSpec<B = undefined, Q = Record<string, string | undefined>> {
  body?: ZodType<B>;
  /** A route whose body may be left out entirely: the schema then sees `{}`. */
  bodyOptional?: boolean;
  query?: ZodType<Q>;
  run(ctx: RouteContext<B, Q>): Promise<HttpResult> | HttpResult;
}

/** Identity helper that lets TypeScript infer body/query types from the schemas. */
export function route<B = undefined, Q = Record<string, string | undefined>>(spec: RouteSpec<B, Q>): RouteSpec<B, Q> {
  return spec;
}

export const ok = (body: unknown, headers?: Record<string, string>): HttpResult => ({ statusCode: 200, body, headers });
export const created = (body: unknown, headers?: Record<string, string>): HttpResult => ({
  statusCode: 201,
  body,
  headers,
});
export const noContent = (headers?: Record<string, string>): HttpResult => ({ statusCode: 204, headers });

/** Zod issues → the spec's error classes: unknown fields are a malformed request (400), the rest 422. */
export function toValidationError(error: z.ZodError, where: 'body' | 'query'): AppError {
  const details = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    code: issue.code,
    message: issue.message,
    ...(issue.code === 'unrecognized_keys' ? { keys: issue.keys } : {}),
  }));
  if (!error.issues.some((i) => i.code === 'unrecognized_keys')) return validationError('The request is not valid', details);
  return badRequest(
    where === 'query' ? 'The request has query parameters this route does not know' : 'The request contains fields that cannot be set',
    details,
  );
}

function decodeBody(event: APIGatewayProxyEvent): string | undefined {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** 413 → 415 → 400, in the order a gateway would check them: size, declared type, then syntax. */
export function parseJsonBody(event: APIGatewayProxyEvent): unknown {
  const text = decodeBody(event);
  if (text === undefined) return undefined;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const contentType = header(event.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be application/json');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('The request body is not valid JSON');
  }
}

type AnyRouteSpec = RouteSpec<unknown, unknown>;

/** The query of a route that declares none: unknown query parameters are 400 everywhere, not ignored. */
const NO_QUERY = z.strictObject({});

/** `?status=&articleId=A` leaves status out: an empty value filters nothing. */
function givenQuery(event: APIGatewayProxyEvent): Record<string, string> {
  const given: Record<string, string> = {};
  if (!event.queryStringParameters) return given;
  for (const [k, v] of Object.entries(event.queryStringParameters)) if (v !== undefined && v !== '') given[k] = v;
  return given;
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

    let body: unknown;
    if (spec.body) {
      let raw = parseJsonBody(event);
      if (raw === undefined && spec.bodyOptional) raw = {};
      if (raw === undefined) throw badRequest('A JSON request body is required');
      const parsed = spec.body.safeParse(raw);
      if (!parsed.success) throw toValidationError(parsed.error, 'body');
      body = parsed.data;
    }

    // A route without a query schema takes no query parameters: any given one is unknown, so 400.
    let query: unknown = givenQuery(event);
    if (spec.query || Object.keys(query as object).length > 0) {
      const parsed = (spec.query ?? NO_QUERY).safeParse(query);
      if (!parsed.success) throw toValidationError(parsed.error, 'query');
      query = parsed.data;
    }

    const result = await spec.run(new Context(event, body, query, user));
    return toProxyResult(result);
  };
}

export function toProxyResult(result: HttpResult): APIGatewayProxyResult {
  if (result.raw) {
    const binary = Buffer.isBuffer(result.raw.data);
    return {
      statusCode: result.statusCode,
      headers: Object.assign({ 'Content-Type': result.raw.contentType }, result.headers),
      body: binary ? (result.raw.data as Buffer).toString('base64') : (result.raw.data as string),
      isBase64Encoded: binary,
    };
  }
  if (result.body === undefined) return { statusCode: result.statusCode, headers: Object.assign({}, result.headers), body: '' };
  return {
    statusCode: result.statusCode,
    headers: Object.assign({ 'Content-Type': JSON_CONTENT_TYPE }, result.headers),
    body: JSON.stringify(result.body),
  };
}
