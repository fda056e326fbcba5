import type { Permission } from './permissions';
import type { TableId } from './tables';

/**
 * The API's functions and routes, described once. The CDK API stack (lib/api-stack.ts) builds the REST
 * API from this table and the local server (scripts/local/server.ts) routes by it; each function's
 * router takes the required permission from here, so the authorizer, the handler and the docs can
 * never disagree.
 */

/** What a function may do to a table; lib/constructs/app-function.ts turns it into IAM grants. */
export type TableAccess = 'describe' | 'read' | 'readWrite';

export interface FunctionDefinition {
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly tables: Partial<Record<TableId, TableAccess>>;
}

export const FUNCTIONS = {
  health: {
    entry: 'functions/health/handler.ts',
    description: 'Health, liveness and readiness probes',
    memorySize: 256,
    timeoutSeconds: 10,
    tables: { charges: 'describe', users: 'describe', audit: 'describe', 'auth-state': 'describe', reports: 'describe' },
  },
  fallback: {
    entry: 'functions/fallback/handler.ts',
    description: 'Answers unknown routes (404) and wrong methods (405) in the spec error shape',
    memorySize: 128,
    timeoutSeconds: 3,
    tables: {},
  },
  authorizer: {
    entry: 'functions/authorizer/handler.ts',
    description: 'Lambda REQUEST authorizer: verifies the bearer token and the route permission',
    memorySize: 512,
    timeoutSeconds: 5,
    tables: { users: 'read', 'auth-state': 'readWrite' },
  },
} as const satisfies Record<string, FunctionDefinition>;

export type FunctionId = keyof typeof FUNCTIONS;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** API Gateway resource path, e.g. `/charges/{id}`; it is also `event.resource` in the handler. */
  readonly path: string;
  readonly function: FunctionId;
  /** `public` routes skip the authorizer; any other route requires a valid token and this permission. */
  readonly access: 'public' | Permission;
  /** Routes that take a JSON body: others ignore one. */
  readonly jsonBody?: boolean;
}

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/status/health', function: 'health', access: 'public' },
  { method: 'GET', path: '/status/health/liveness', function: 'health', access: 'public' },
  { method: 'GET', path: '/status/health/readiness', function: 'health', access: 'public' },
];

/** The catch-all API Gateway resource that sends unknown paths to the fallback function. */
export const PROXY_PATH = '/{proxy+}';

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

const byKey = new Map(ROUTES.map((r) => [routeKey(r.method, r.path), r]));

export function findRoute(method: string, path: string): RouteDefinition | undefined {
  return byKey.get(routeKey(method, path));
}

/** Every distinct resource path with the routes on it (API Gateway resources, 405 handling). */
export function routesByPath(): Map<string, RouteDefinition[]> {
  const paths = new Map<string, RouteDefinition[]>();
  for (const r of ROUTES) paths.set(r.path, [...(paths.get(r.path) ?? []), r]);
  return paths;
}

/** A path is public only when every route on it is: then its wrong-method answer needs no token either. */
export function isPublicPath(path: string): boolean {
  const routes = routesByPath().get(path);
  return routes !== undefined && routes.every((r) => r.access === 'public');
}
