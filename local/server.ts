import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { AppError, unauthorized, forbidden, unavailable } from '#platform/errors';
import { rateLimitFromContext, rateLimitHeaders } from '#platform/auth-context';
import { errorResponse } from '#platform/http/error-response';
import { header, requestIdFor } from '#platform/http/headers';
import {
  findRoute,
  type FunctionId,
  isPublicPath,
  PROXY_PATH,
  routesByPath,
  type RouteDefinition,
} from '#platform/routes';
import { observeRequest } from '#platform/observability/prometheus';
import { answerClientError } from './client-error';
import { type ClientTimeoutOptions, clientTimeouts } from './client-timeouts';
import { asGateway, invoke } from './handlers';
import { LOCAL_FILES_PATH } from '#local/adapters/local-object-store';
import { CONSOLE_PATH, serveConsole } from './console';

/** API Gateway's own payload limit; bodies between 1 MiB and this reach the handler, which answers 413. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
const STAGE = 'v1';
const EMPTY_BODY = Buffer.alloc(0);
const API_ID = 'local';

interface Template {
  path: string;
  segments: string[];
  /** Static segments beat parameters, as in API Gateway's resource matching. */
  specificity: number;
}

const templates: Template[] = [...routesByPath().keys()].map((path) => {
  const segments = path.split('/').filter(Boolean);
  return { path, segments, specificity: segments.filter((s) => !s.startsWith('{')).length };
});
templates.sort((a, b) => b.specificity - a.specificity);

/** Paths whose every route is public: a wrong method there is answered without a token too. */
const publicPaths = new Set(templates.map((t) => t.path).filter(isPublicPath));

/** Paths without parameters resolve with one map lookup: the common case needs no template scan. */
const staticTemplates = new Map(templates.filter((t) => t.specificity === t.segments.length).map((t) => [t.path, t]));

function matchTemplate(pathname: string): { template: Template; params: Record<string, string> } | undefined {
  const exact = staticTemplates.get(pathname);
  if (exact) return { template: exact, params: {} };
  const parts = pathname.split('/').filter(Boolean);
  outer: for (const template of templates) {
    if (template.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const seg = template.segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith('{')) {
        try {
          params[seg.slice(1, -1)] = decodeURIComponent(part);
        } catch {
          continue outer;
        }
      } else if (seg !== part) continue outer;
    }
    return { template, params };
  }
  return undefined;
}

export interface ResolvedRoute {
  /** API Gateway resource the request lands on (`/{proxy+}` for unknown paths). */
  resource: string;
  pathParameters: Record<string, string> | null;
  function: FunctionId;
  access: RouteDefinition['access'] | 'authenticated';
}

/** Mirrors the CDK API: known route → its function; known path, other method → fallback (405); else → fallback (404). */
export function resolveRoute(method: string, pathname: string): ResolvedRoute {
  const match = matchTemplate(pathname);
  if (!match) {
    return {
      resource: PROXY_PATH,
      pathParameters: { proxy: pathname.slice(1) },
      function: 'fallback',
      access: 'authenticated',
    };
  }
  const params = match.template.specificity < match.template.segments.length ? match.params : null;
  const route = findRoute(method, match.template.path);
  if (route) return { resource: route.path, pathParameters: params, function: route.function, access: route.access };
  return {
    resource: match.template.path,
    pathParameters: params,
    function: 'fallback',
    access: publicPaths.has(match.template.path) ? 'public' : 'authenticated',
  };
}

/** Reads the body up to the gateway limit; past it the rest is drained (not kept) so the client still gets its 413. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      size > GATEWAY_MAX_BODY_BYTES
        ? reject(new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large'))
        : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

/**
 * Maps keyed by what the client sent have no prototype: a header or parameter named `constructor`, `__proto__` or
 * `toString` is then a key like any other, not an inherited function (a 500 on every route) or a prototype swap.
 */
const emptyMap = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

function headerMaps(req: IncomingMessage, skip: string | undefined) {
  const headers = emptyMap<string>();
  const multi = emptyMap<string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (skip !== undefined && name.toLowerCase() === skip) continue;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { headers, multi };
}

function queryMaps(search: URLSearchParams | undefined) {
  if (!search || search.size === 0) return { single: null, multi: null };
  const single = emptyMap<string>();
  const multi = emptyMap<string[]>();
  for (const [k, v] of search) {
    single[k] = v;
    (multi[k] ??= []).push(v);
  }
  return { single, multi };
}

/**
 * Strict UTF-8, BOM kept (JSON.parse refuses it). API Gateway hands a text body over as a string;
 * bytes that are not UTF-8 go on base64-encoded, as it passes bytes it cannot hand over as text, and the
 * router answers 400 instead of `Buffer.toString` quietly turning them into U+FFFD.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function bodyOf(body: Buffer): Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'> {
  if (body.length === 0) return { body: null, isBase64Encoded: false };
  try {
    return { body: UTF8.decode(body), isBase64Encoded: false };
  } catch {
    return { body: body.toString('base64'), isBase64Encoded: true };
  }
}

/** A request target split into what API Gateway reports: the path and the query parameters. */
export interface RequestTarget {
  pathname: string;
  search: URLSearchParams | undefined;
}

/**
 * Plain paths are taken as they are: non-empty segments of URL-safe characters. Anything WHATWG URL
 * parsing would change (dot segments, also percent-encoded; doubled or back slashes; other characters) goes through it.
 * Segments are delimited by '/', so the pattern cannot backtrack.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~!$&'()*+,;=:@%.-]+)*\/?$/;
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/** WHATWG URL parsing costs more than the rest of routing; only targets that need normalising pay for it. */
export function parseTarget(target: string): RequestTarget {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path) && !target.includes('#')) {
    const query = q === -1 ? '' : target.slice(q + 1);
    return { pathname: path, search: query === '' ? undefined : new URLSearchParams(query) };
  }
  const url = new URL(target, 'http://localhost');
  return { pathname: url.pathname, search: url.searchParams };
}

/** Where the client address comes from when the peer is `npm run dev`'s supervisor, not the client. */
interface ClientAddress {
  /** The header the supervisor put it in (removed from the event). */
  header?: string;
  address?: string;
}

/** The REST API proxy event API Gateway would send for this request. */
export function toProxyEvent(
  req: IncomingMessage,
  url: RequestTarget,
  body: Buffer,
  route: ResolvedRoute,
  requestId: string,
  client: ClientAddress = {},
): APIGatewayProxyEvent {
  const { headers, multi } = headerMaps(req, client.header);
  const query = queryMaps(url.search);
  const method = req.method ?? 'GET';
  const now = Date.now();
  const { body: text, isBase64Encoded } = bodyOf(body);
  return {
    resource: route.resource,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: multi,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters: route.pathParameters,
    stageVariables: null,
    body: text,
    isBase64Encoded,
    requestContext: {
      accountId: '000000000000',
      apiId: API_ID,
      authorizer: null,
      domainName: header(headers, 'host') ?? '127.0.0.1',
      domainPrefix: '127',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        // The socket's peer, as API Gateway reports the client address; X-Forwarded-For is not trusted.
        sourceIp: (client.address ?? req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        user: null,
        userAgent: header(headers, 'user-agent') ?? null,
        userArn: null,
      },
      // The path as the client sent it: locally there is no stage prefix in the URL.
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      requestId,
      requestTimeEpoch: now,
      resourceId: route.resource,
      resourcePath: route.resource,
      stage: STAGE,
    },
  };
}

function toAuthorizerEvent(event: APIGatewayProxyEvent): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:local:000000000000:${API_ID}/${STAGE}/${event.httpMethod}${event.resource === PROXY_PATH ? event.path : event.resource}`,
    resource: event.resource,
    path: event.path,
    httpMethod: event.httpMethod,
    headers: event.headers as Record<string, string>,
    multiValueHeaders: event.multiValueHeaders as Record<string, string[]>,
    pathParameters: event.pathParameters as Record<string, string> | null,
    queryStringParameters: event.queryStringParameters as Record<string, string> | null,
    multiValueQueryStringParameters: event.multiValueQueryStringParameters as Record<string, string[]> | null,
    stageVariables: null,
    requestContext: Object.assign({}, event.requestContext, { authorizer: undefined }),
  };
}

/**
 * Runs the authorizer as API Gateway does: a thrown `Unauthorized` is a 401, an explicit Deny a 403,
 * an Allow passes its context on to the route handler. Any other failure (the authorizer fails closed when,
 * say, DynamoDB is unreachable) is a 503 `UNAVAILABLE` with `Retry-After`, as the `AUTHORIZER_FAILURE` and
 * `AUTHORIZER_CONFIGURATION_ERROR` gateway responses answer in AWS (lib/api-stack.ts): API Gateway cannot tell
 * an outage from any other error of the authorizer, and neither does this stand-in. The authorizer has logged the cause.
 */
async function authorize(event: APIGatewayProxyEvent): Promise<Record<string, unknown>> {
  let result: APIGatewayAuthorizerResult;
  try {
    result = await invoke<APIGatewayAuthorizerResult>('authorizer', toAuthorizerEvent(event));
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof Error && err.message === 'Unauthorized') throw unauthorized();
    throw unavailable(undefined, { cause: err });
  }
  const statement = result.policyDocument.Statement[0];
  if (!statement || statement.Effect !== 'Allow') {
    // As the ACCESS_DENIED gateway response maps them from the Deny's context (lib/api-stack.ts).
    const rate = rateLimitFromContext(result.context);
    throw forbidden(undefined, { headers: rate ? rateLimitHeaders(rate) : {} });
  }
  // Object.assign, not a spread literal: on Node 20 an object from `{ ...a, b }` reads many times slower.
  return Object.assign({}, result.context, { principalId: result.principalId });
}

/** The length is the server's to set, from the body it actually writes. */
const isContentLength = (name: string) => name.length === 14 && name.toLowerCase() === 'content-length';

function writeResult(res: ServerResponse, result: APIGatewayProxyResult): void {
  // Node's flat [name, value, …] form: no intermediate object, and a multi-value header is its name repeated.
  const headers: string[] = [];
  const single = result.headers;
  const multi = result.multiValueHeaders;
  // A name in both maps is sent with its multi-value values only.
  for (const k in single) if (!multi?.[k] && !isContentLength(k)) headers.push(k, String(single[k]));
  for (const k in multi) if (!isContentLength(k)) for (const v of multi[k] ?? []) headers.push(k, String(v));
  // A text body goes out as a string: Node then writes head and body in one chunk, not a two-buffer writev.
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : (result.body ?? '');
  headers.push('Content-Length', String(typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length));
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

/**
 * Responses finished during one event-loop turn, written together right after it (before the loop
 * waits for I/O again). Each write to a client that has gone idle pays for waking it up; written in
 * one burst, a turn's responses wake each client once. Measured here with a bare server that spends
 * 100 µs per request: 31 % more requests per second, and no request waits longer than the turn it
 * finished in. Responses on one connection keep their order: Node queues them per socket.
 */
let outbox: Array<[ServerResponse, APIGatewayProxyResult]> = [];

function flushOutbox(): void {
  const batch = outbox;
  outbox = [];
  for (const [res, result] of batch) {
    try {
      writeResult(res, result);
    } catch (err) {
      // A header value Node refuses (a handler bug): a 500 in the error shape, logged, rather than a crash or a hung socket.
      if (res.headersSent) res.destroy();
      else writeResult(res, errorResponse(err, requestIdFor(String(result.headers?.['X-Request-ID']))));
    }
  }
}

/**
 * `GET /charges 200 12.3 ms 5f0c…`: the path without its query (which may hold cursors and filters), and only ever
 * text the server has checked — a normalised path and a sane or generated request id — so a line cannot be split.
 */
function accessLine(method: string, path: string, status: number, started: number, requestId: string): string {
  return `${method} ${path} ${status} ${(performance.now() - started).toFixed(1)} ms ${requestId}`;
}

/** Queues a handler result for the end of this event-loop turn (exported for tests). */
export function send(res: ServerResponse, result: APIGatewayProxyResult): void {
  if (outbox.push([res, result]) === 1) setImmediate(flushOutbox);
}

export interface LocalServerOptions extends ClientTimeoutOptions {
  /**
   * Take the client address from this header: only for a server that listens on nothing but a private
   * Unix socket behind `npm run dev`'s supervisor, which sets it from the real peer and overwrites any
   * value a client sent. Over TCP the header would be a spoofing hole; there it is never read.
   */
  clientAddressHeader?: string;
  /** One line per answered request: method, path, status, milliseconds, request id. */
  accessLog?: (line: string) => void;
}

/**
 * The local stand-in for API Gateway: one Node HTTP server that turns each request into the proxy event
 * API Gateway would send, runs the same authorizer handler for non-public routes, then the same route
 * handler, and writes its result back.
 */
export function createLocalServer(options: LocalServerOptions = {}): Server {
  const accessLog = options.accessLog;
  const server = createServer(clientTimeouts(options), async (req, res) => {
    const started = performance.now();
    const target = parseTarget(req.url ?? '/');
    const method = (req.method ?? 'GET').toUpperCase();
    // The S3 stand-in for report download links (not API routes); imported on first use, it pulls in every report adapter.
    if (method === 'GET' && target.pathname.startsWith(LOCAL_FILES_PATH)) {
      if (accessLog)
        res.once('finish', () => accessLog(accessLine(method, target.pathname, res.statusCode, started, '-')));
      return (await import('./reports')).serveLocalFile(new URL(req.url ?? '/', 'http://localhost'), res);
    }
    // The browser console's static files (CloudFront serves them from S3 in AWS), on the API's origin.
    if (
      (method === 'GET' || method === 'HEAD') &&
      (target.pathname === CONSOLE_PATH || target.pathname.startsWith(`${CONSOLE_PATH}/`))
    ) {
      if (accessLog)
        res.once('finish', () => accessLog(accessLine(method, target.pathname, res.statusCode, started, '-')));
      return serveConsole(target.pathname, method, res);
    }
    const addressHeader = options.clientAddressHeader;
    const client = addressHeader
      ? { header: addressHeader, address: req.headers[addressHeader] as string | undefined }
      : undefined;
    // API Gateway's own request id is never the caller's X-Request-ID: the audit trail names it as the request.
    const gatewayRequestId = randomUUID();
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined, gatewayRequestId);
    const route = resolveRoute(method, target.pathname);
    let result: APIGatewayProxyResult;
    try {
      // Waiting for 'end' on a bodiless request costs a trip through the event loop: skip it (half the throughput).
      const bodiless =
        req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) === 0;
      const body = bodiless ? EMPTY_BODY : await readBody(req);
      const event = toProxyEvent(req, target, body, route, gatewayRequestId, client);
      if (route.access !== 'public') event.requestContext.authorizer = await authorize(event);
      result = await invoke<APIGatewayProxyResult>(route.function, event);
    } catch (err) {
      // Gateway-level failures (authorizer 401/403, oversized body) in the same shape handlers use.
      const sourceIp = (client?.address ?? req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      const logKeys = { http_method: method, path: target.pathname, source_ip: sourceIp };
      result = asGateway(requestId, () => errorResponse(err, requestId), logKeys);
    }
    observeRequest(method, route.resource, result.statusCode, (performance.now() - started) / 1000);
    if (accessLog) accessLog(accessLine(method, target.pathname, result.statusCode, started, requestId));
    send(res, result);
  });
  server.on('clientError', answerClientError);
  return server;
}
