import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type AuthenticatedUser, toAuthorizerContext } from '#platform/auth-context';
import { permissionsFor, type Role } from '#platform/permissions';
import type { FunctionId } from '#platform/routes';
import { invoke } from '#local/handlers';

/** A caller as the authorizer would describe them: the roles' permissions, a fresh id. */
export function userWith(roles: Role[], username = `u-${randomUUID().slice(0, 8)}`): AuthenticatedUser {
  return { userId: randomUUID(), username, roles, permissions: permissionsFor(roles) };
}

export interface EventOptions {
  /** API Gateway resource, e.g. `/charges/{id}`. */
  resource: string;
  method?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  user?: AuthenticatedUser;
}

/** The REST API proxy event API Gateway sends after an Allow from the authorizer, with its context. */
export function apiEvent(options: EventOptions): APIGatewayProxyEvent {
  let path = options.resource;
  for (const [k, v] of Object.entries(options.pathParameters ?? {}))
    path = path.replace(`{${k}}`, encodeURIComponent(v));
  const headers: Record<string, string> = { ...options.headers };
  let body: string | null = options.rawBody ?? null;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const method = options.method ?? 'GET';
  return {
    resource: options.resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: options.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      authorizer: options.user ? { ...toAuthorizerContext(options.user), principalId: options.user.userId } : null,
      domainName: 'localhost',
      domainPrefix: 'localhost',
      httpMethod: method,
      identity: { sourceIp: '127.0.0.1', userAgent: 'vitest' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/v1${path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: options.resource,
      resourcePath: options.resource,
      stage: 'v1',
    },
  };
}

export interface HandlerResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body (undefined when empty). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary response shapes
}

/** Runs a route handler in-process (the module the local server and CDK use) with the given event. */
export async function callHandler(functionId: FunctionId, options: EventOptions): Promise<HandlerResponse> {
  const result = await invoke<APIGatewayProxyResult>(functionId, apiEvent(options));
  return {
    status: result.statusCode,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)])),
    json: result.body ? JSON.parse(result.body) : undefined,
  };
}
