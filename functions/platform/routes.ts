import type { Permission } from './permissions';
import type { TableId } from './tables';

/**
 * The API's functions and routes, described once. The CDK API stack (lib/api-stack.ts) builds the REST
 * API from this table and the local server (local/server.ts) routes by it; each function's
 * router takes the required permission from here, so the authorizer, the handler and the docs can
 * never disagree.
 */

/**
 * What a function may do to a table; lib/constructs/app-function.ts turns it into IAM grants (TABLE_ACTIONS).
 * Each level is what the function's code really calls, so a bug or a takeover reaches no further:
 * - `describe`: DescribeTable only (readiness, stream-source names);
 * - `read`: Get/BatchGet/Query/ConditionCheck, no Scan; `scan`: read plus Scan;
 * - `counters`: Get/BatchGet plus UpdateItem (the authorizer's rate-limit counters), no Put or Delete;
 * - `write`: read plus PutItem/UpdateItem (also inside transactions), never DeleteItem: records are soft-deleted;
 * - `writeScan`: write plus Scan; `readWrite`: write plus DeleteItem, only where the code hard-deletes;
 * - `append` (audit table only): read, plus PutItem for conditional appends — never UpdateItem/DeleteItem.
 * No level has BatchWriteItem: no function calls it.
 */
export type TableAccess = 'describe' | 'read' | 'scan' | 'counters' | 'write' | 'writeScan' | 'readWrite' | 'append';

export interface FunctionDefinition {
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly tables: Partial<Record<TableId, TableAccess>>;
  /**
   * Use of the signing keys (lib/constructs/signing-keys.ts grants it and sets SIGNING_SECRET_ID):
   * `verify` reads the signing secret and public keys; `sign` may also kms:Sign; `rotate` is `verify` plus
   * starting a rotation (secretsmanager:RotateSecret), without kms:Sign. The rotation function gets its own grants.
   */
  readonly signingKeys?: SigningKeyAccess;
  /**
   * Use of the attribution key (lib/constructs/attribution-key.ts; ATTRIBUTION_KEY_ID): `mac` for the functions
   * that write charges and users (kms:GenerateMac), `verify` for the audit stream function (kms:VerifyMac) only.
   */
  readonly attribution?: AttributionAccess;
  /**
   * The audit digests (lib/constructs/audit-digests.ts): `write` puts them in the Object Lock bucket and may
   * kms:Sign with the digest key; `read` lists and reads them and may kms:GetPublicKey.
   */
  readonly digests?: 'read' | 'write';
  /**
   * The function makes an S3 client: the client loads the SDK's event-stream code when it is made, so the bundle
   * must keep it (every other bundle leaves it out, lib/constructs/app-function.ts).
   */
  readonly s3Client?: true;
}

export type AttributionAccess = 'mac' | 'verify';

export type SigningKeyAccess = 'verify' | 'sign' | 'rotate';

export const FUNCTIONS = {
  health: {
    entry: 'functions/ops/health.ts',
    description: 'Health and liveness probes (no dependency calls, no AWS SDK in the bundle)',
    memorySize: 256,
    timeoutSeconds: 3,
    tables: {},
  },
  readiness: {
    entry: 'functions/ops/readiness.ts',
    description: 'Readiness probe: DescribeTable on every table and the signing key',
    memorySize: 256,
    timeoutSeconds: 10,
    tables: {
      charges: 'describe',
      users: 'describe',
      audit: 'describe',
      'auth-state': 'describe',
      reports: 'describe',
      analytics: 'describe',
      dashboards: 'describe',
    },
    signingKeys: 'verify',
  },
  ops: {
    entry: 'functions/ops/api.ts',
    description: 'Operations: detailed health of every dependency (DescribeTable, the signing key and secret)',
    memorySize: 512,
    timeoutSeconds: 10,
    tables: {
      charges: 'describe',
      users: 'describe',
      audit: 'describe',
      'auth-state': 'describe',
      reports: 'describe',
      analytics: 'describe',
      dashboards: 'describe',
    },
    signingKeys: 'verify',
  },
  metrics: {
    entry: 'functions/ops/metrics.ts',
    description: 'The Prometheus /metrics endpoint: process metrics and the data gauges counted from the tables',
    memorySize: 512,
    timeoutSeconds: 10,
    // scan: the data gauges count auth-state items by Scan (functions/ops/data-gauges.ts). verify: the signing
    // key's age.
    tables: {
      charges: 'read',
      users: 'read',
      audit: 'read',
      'auth-state': 'scan',
      reports: 'read',
    },
    signingKeys: 'verify',
  },
  docs: {
    entry: 'functions/platform/openapi/api.ts',
    description: "The API's description: the OpenAPI document and its reference page (no SDK in the bundle)",
    memorySize: 256,
    timeoutSeconds: 3,
    tables: {},
  },
  fallback: {
    entry: 'functions/platform/http/fallback.ts',
    description: 'Answers unknown routes (404) and wrong methods (405) in the API error shape',
    memorySize: 128,
    timeoutSeconds: 3,
    tables: {},
  },
  auth: {
    entry: 'functions/auth/api.ts',
    description: "Login, refresh, logout, MFA enrolment, and the caller's own account and sessions",
    // Argon2id needs its 19 MiB per hash plus headroom; more memory is also more CPU on Lambda.
    memorySize: 1024,
    timeoutSeconds: 10,
    // No DeleteItem anywhere: users are disabled, sessions revoked by update, login state expires by TTL.
    tables: { users: 'write', 'auth-state': 'write', audit: 'append' },
    signingKeys: 'sign',
    attribution: 'mac',
  },
  'auth-sso': {
    entry: 'functions/auth/sso-api.ts',
    description: 'SSO sign-in at the configured identity providers (OIDC authorization code with PKCE)',
    memorySize: 512,
    timeoutSeconds: 10,
    // users: looks up the user of an external identity (the authorizer creates it on first sight). auth-state: the
    // sign-in states, the per-address limit, sessions and signature tickets. Its SSO client secrets: lib/app.ts.
    tables: { users: 'read', 'auth-state': 'write', audit: 'append' },
    signingKeys: 'sign',
  },
  'password-reset': {
    entry: 'functions/auth/password-reset-api.ts',
    description: 'Self-service password reset: mails a one-time link, and sets the new password with it',
    // Argon2id for the new password, as in auth.
    memorySize: 1024,
    timeoutSeconds: 10,
    // The only sign-in function that may send mail (ses:SendEmail from the one sender, lib/constructs/reports.ts).
    tables: { users: 'write', 'auth-state': 'write', audit: 'append' },
    attribution: 'mac',
  },
  users: {
    entry: 'functions/users/api.ts',
    description: 'User administration (users:manage): create, list, change roles, disable, unlock, revoke tokens',
    memorySize: 1024,
    timeoutSeconds: 10,
    // users: the admin count is initialised by Scan (functions/users/admin-count.ts); users are disabled, never deleted.
    // auth-state: unlock deletes the username's login state (functions/auth/login-guard.ts).
    tables: { users: 'writeScan', 'auth-state': 'readWrite', audit: 'append' },
    attribution: 'mac',
  },
  authorizer: {
    entry: 'functions/auth/authorizer.ts',
    description: 'Lambda REQUEST authorizer: verifies the bearer token and the route permission',
    memorySize: 512,
    timeoutSeconds: 5,
    // auth-state: one BatchGetItem for the caller's state, one UpdateItem for the rate-limit counter. The
    // OIDC first-sign-in PutItem on users is a separate, attribute-limited grant (lib/api-stack.ts).
    tables: { users: 'read', 'auth-state': 'counters' },
    signingKeys: 'verify',
    attribution: 'mac',
  },
  'service-accounts': {
    entry: 'functions/service-accounts/api.ts',
    description: 'Service accounts (users:manage) and their OAuth 2.0 client-credentials token endpoint',
    memorySize: 512,
    timeoutSeconds: 10,
    // users: accounts are items of the users table (create, rotate, delete by a put; never DeleteItem or Scan); their
    // changes reach the audit trail from its stream, stamped with the attribution MAC. auth-state: the per-IP limit
    // on POST /auth/token. audit: each refused token request is appended (a security event).
    tables: { users: 'write', 'auth-state': 'counters', audit: 'append' },
    signingKeys: 'sign',
    attribution: 'mac',
  },
  keys: {
    entry: 'functions/signing/api.ts',
    description: 'JWKS and OpenID discovery documents; starts a signing key rotation on request',
    memorySize: 256,
    timeoutSeconds: 29,
    tables: {},
    signingKeys: 'rotate',
  },
  // Not behind API Gateway: the signing secret's rotation schedule (lib/constructs/signing-keys.ts) invokes it.
  'rotate-keys': {
    entry: 'functions/signing/rotation-handler.ts',
    description: 'Secrets Manager rotation function of the access-token signing key (KMS)',
    memorySize: 256,
    timeoutSeconds: 60,
    // append: finishSecret puts each promotion on the audit trail (`key.rotation`).
    tables: { audit: 'append' },
  },
  charges: {
    entry: 'functions/charges/api.ts',
    description:
      'Charges: create, list, read, update with If-Match, signed QA decisions and reviews, soft delete, version history',
    memorySize: 512,
    timeoutSeconds: 10,
    // charges write, not readWrite: charges are soft-deleted, a GMP record is never removed. The rest is the
    // signature check (functions/auth/signature-verifier.ts): users read, and write for a used recovery code;
    // auth-state write for the lockout counters and one-time signing tickets (spent by update); audit for failures.
    tables: { charges: 'write', users: 'write', 'auth-state': 'write', audit: 'append' },
    attribution: 'mac',
  },
  audit: {
    entry: 'functions/audit/api.ts',
    description: 'Audit trail search and its JSON Lines export',
    memorySize: 512,
    timeoutSeconds: 29,
    tables: { audit: 'read' },
  },
  'audit-verify': {
    entry: 'functions/audit/verify-api.ts',
    description: 'Hash-chain verification anchored in the signed digests, and the digests themselves',
    memorySize: 512,
    timeoutSeconds: 29,
    // charges, users, reports, dashboards: verify compares each chain with its entity's version.
    tables: { audit: 'read', charges: 'read', users: 'read', reports: 'read', dashboards: 'read' },
    digests: 'read',
  },
  // Not behind API Gateway: the streams of the audited tables (lib/constructs/audit-trail.ts) invoke it.
  'audit-stream': {
    entry: 'functions/audit/stream.ts',
    description: 'Writes the hash-chained audit trail from the charges, users, reports and dashboards table streams',
    memorySize: 512,
    timeoutSeconds: 60,
    // describe: only for the table names, which tell the handler which stream a record came from.
    // charges `read`: the snapshot of each audited version is checked (functions/charges/audited.ts).
    tables: { audit: 'append', charges: 'read', users: 'describe', reports: 'describe', dashboards: 'describe' },
    attribution: 'verify',
  },
  // Not behind API Gateway: EventBridge Scheduler invokes it every AUDIT_DIGEST_INTERVAL_SECONDS.
  'audit-digest': {
    entry: 'functions/audit/digest-handler.ts',
    s3Client: true,
    description: 'Writes the signed digest of every audit chain head changed since the last one',
    memorySize: 1024,
    timeoutSeconds: 300,
    tables: { audit: 'read' },
    digests: 'write',
  },
  reports: {
    entry: 'functions/reports/api.ts',
    s3Client: true,
    description: 'Reports: PDF/XLSX/CSV exports, the Chargenbericht, report definitions and their schedules, runs',
    // pdf-lib holds a whole PDF in memory (≈ 310 MB for the 20 000-row cap); XLSX/CSV stream through /tmp.
    memorySize: 1024,
    timeoutSeconds: 29,
    // reports: DELETE /reports/definitions/{id} removes the definition item. audit: exports read it; definition
    // changes reach it from the reports table's stream, stamped with the attribution MAC.
    tables: { charges: 'read', audit: 'read', reports: 'readWrite' },
    attribution: 'mac',
  },
  analytics: {
    entry: 'functions/analytics/api.ts',
    description: 'Analytics queries over the kept aggregates, and dashboards',
    memorySize: 512,
    timeoutSeconds: 29,
    // analytics: reads aggregates. dashboards: put and deleted (readWrite); their changes reach the audit trail from
    // that table's stream, stamped with the attribution MAC.
    tables: { analytics: 'read', dashboards: 'readWrite' },
    attribution: 'mac',
  },
  // Not behind API Gateway: the charges table stream (lib/constructs/analytics.ts) invokes it.
  'analytics-stream': {
    entry: 'functions/analytics/stream.ts',
    description: 'Keeps the analytics aggregates from the charges table stream, each record applied once',
    memorySize: 512,
    timeoutSeconds: 60,
    // write: conditional marker puts and ADD updates in transactions; it never reads charges (the images suffice).
    tables: { analytics: 'write' },
  },
  // Not behind API Gateway: each report definition's EventBridge Scheduler schedule (lib/constructs/reports.ts) invokes it.
  'report-runner': {
    entry: 'functions/reports/runner.ts',
    s3Client: true,
    description: 'Runs a report definition: builds the file, stores it, records the run, mails the link',
    memorySize: 1024,
    timeoutSeconds: 300,
    // reports: records runs; it never deletes a definition.
    tables: { charges: 'read', audit: 'read', reports: 'write' },
  },
} as const satisfies Record<string, FunctionDefinition>;

/** One function's definition, with the optional fields the literal table leaves out. */
export const functionDefinition = (functionId: FunctionId): FunctionDefinition => FUNCTIONS[functionId];

export type FunctionId = keyof typeof FUNCTIONS;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** API Gateway resource path, e.g. `/charges/{id}`; it is also `event.resource` in the handler. */
  readonly path: string;
  readonly function: FunctionId;
  /**
   * `public` routes skip the authorizer; `authenticated` ones need a valid token and nothing more; any other
   * route needs a valid token carrying this permission.
   */
  readonly access: 'public' | 'authenticated' | Permission;
  /** Routes that take a JSON body: others ignore one. */
  readonly jsonBody?: boolean;
}

export const ROUTES: readonly RouteDefinition[] = [
  { method: 'GET', path: '/status/health', function: 'health', access: 'public' },
  { method: 'GET', path: '/status/health/liveness', function: 'health', access: 'public' },
  { method: 'GET', path: '/status/health/readiness', function: 'readiness', access: 'public' },
  { method: 'GET', path: '/status/health/detailed', function: 'ops', access: 'metrics:read' },
  { method: 'GET', path: '/metrics', function: 'metrics', access: 'metrics:read' },
  { method: 'GET', path: '/openapi.json', function: 'docs', access: 'public' },
  { method: 'GET', path: '/docs', function: 'docs', access: 'public' },
  // The browser's way in: the console (served by CloudFront in AWS, by the local server locally).
  { method: 'GET', path: '/', function: 'docs', access: 'public' },
  { method: 'POST', path: '/auth/login', function: 'auth', access: 'public', jsonBody: true },
  { method: 'POST', path: '/auth/refresh', function: 'auth', access: 'public', jsonBody: true },
  { method: 'POST', path: '/auth/logout', function: 'auth', access: 'authenticated', jsonBody: true },
  { method: 'GET', path: '/users/me', function: 'auth', access: 'authenticated' },
  { method: 'PATCH', path: '/users/me', function: 'auth', access: 'authenticated', jsonBody: true },
  { method: 'POST', path: '/users/me/password', function: 'auth', access: 'authenticated', jsonBody: true },
  { method: 'POST', path: '/users/me/mfa', function: 'auth', access: 'authenticated' },
  { method: 'POST', path: '/users/me/mfa/confirm', function: 'auth', access: 'authenticated', jsonBody: true },
  { method: 'DELETE', path: '/users/me/mfa', function: 'auth', access: 'authenticated', jsonBody: true },
  {
    method: 'POST',
    path: '/auth/password-reset/request',
    function: 'password-reset',
    access: 'public',
    jsonBody: true,
  },
  { method: 'POST', path: '/auth/password-reset', function: 'password-reset', access: 'public', jsonBody: true },
  { method: 'GET', path: '/users/me/sessions', function: 'auth', access: 'authenticated' },
  { method: 'DELETE', path: '/users/me/sessions/{id}', function: 'auth', access: 'authenticated' },
  { method: 'GET', path: '/auth/sso/providers', function: 'auth-sso', access: 'public' },
  { method: 'GET', path: '/auth/sso/{provider}', function: 'auth-sso', access: 'public' },
  { method: 'GET', path: '/auth/sso/callback', function: 'auth-sso', access: 'public' },
  { method: 'POST', path: '/auth/sso/ticket', function: 'auth-sso', access: 'authenticated' },
  { method: 'POST', path: '/users', function: 'users', access: 'users:manage', jsonBody: true },
  { method: 'GET', path: '/users', function: 'users', access: 'users:manage' },
  { method: 'GET', path: '/users/{id}', function: 'users', access: 'users:manage' },
  { method: 'PATCH', path: '/users/{id}', function: 'users', access: 'users:manage', jsonBody: true },
  { method: 'DELETE', path: '/users/{id}', function: 'users', access: 'users:manage', jsonBody: true },
  { method: 'POST', path: '/users/{id}/password-reset', function: 'users', access: 'users:manage', jsonBody: true },
  { method: 'POST', path: '/users/{id}/unlock', function: 'users', access: 'users:manage' },
  { method: 'POST', path: '/users/{id}/revoke-tokens', function: 'users', access: 'users:manage' },
  // Form-encoded as RFC 6749 says (JSON too): the route reads its own body.
  { method: 'POST', path: '/auth/token', function: 'service-accounts', access: 'public' },
  {
    method: 'POST',
    path: '/service-accounts',
    function: 'service-accounts',
    access: 'users:manage',
    jsonBody: true,
  },
  { method: 'GET', path: '/service-accounts', function: 'service-accounts', access: 'users:manage' },
  {
    method: 'POST',
    path: '/service-accounts/{id}/rotate-secret',
    function: 'service-accounts',
    access: 'users:manage',
    jsonBody: true,
  },
  {
    method: 'DELETE',
    path: '/service-accounts/{id}',
    function: 'service-accounts',
    access: 'users:manage',
    jsonBody: true,
  },
  { method: 'GET', path: '/.well-known/jwks.json', function: 'keys', access: 'public' },
  { method: 'GET', path: '/.well-known/openid-configuration', function: 'keys', access: 'public' },
  { method: 'POST', path: '/admin/keys/rotate', function: 'keys', access: 'keys:rotate' },
  { method: 'POST', path: '/charges', function: 'charges', access: 'charges:write', jsonBody: true },
  { method: 'GET', path: '/charges', function: 'charges', access: 'charges:read' },
  { method: 'GET', path: '/charges/{id}', function: 'charges', access: 'charges:read' },
  { method: 'PATCH', path: '/charges/{id}', function: 'charges', access: 'charges:write', jsonBody: true },
  { method: 'DELETE', path: '/charges/{id}', function: 'charges', access: 'charges:delete', jsonBody: true },
  { method: 'GET', path: '/charges/{id}/history', function: 'charges', access: 'charges:read' },
  { method: 'GET', path: '/charges/{id}/versions/{n}', function: 'charges', access: 'charges:read' },
  { method: 'POST', path: '/charges/{id}/reviews', function: 'charges', access: 'charges:review', jsonBody: true },
  { method: 'GET', path: '/audit', function: 'audit', access: 'audit:read' },
  { method: 'GET', path: '/audit/verify', function: 'audit-verify', access: 'audit:read' },
  { method: 'GET', path: '/audit/digests', function: 'audit-verify', access: 'audit:read' },
  { method: 'GET', path: '/audit/digests/{id}', function: 'audit-verify', access: 'audit:read' },
  // Served by the audit function (it reads the trail); a report in name only.
  { method: 'GET', path: '/reports/audit.jsonl', function: 'audit', access: 'audit:read' },
  // Reports. `/reports/charges.csv` etc. are literal resources (a dot in a path segment is fine for API Gateway).
  { method: 'GET', path: '/charges/{id}/report.pdf', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/charges.csv', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/charges.xlsx', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/charges.pdf', function: 'reports', access: 'reports:read' },
  // Audit exports also need audit:read: the reports handler checks it (a route names one permission).
  { method: 'GET', path: '/reports/audit.csv', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/audit.xlsx', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/runs', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/runs/{id}', function: 'reports', access: 'reports:read' },
  { method: 'GET', path: '/reports/runs/{id}/download', function: 'reports', access: 'reports:read' },
  { method: 'POST', path: '/reports/definitions', function: 'reports', access: 'reports:manage', jsonBody: true },
  { method: 'GET', path: '/reports/definitions', function: 'reports', access: 'reports:manage' },
  { method: 'GET', path: '/reports/definitions/{id}', function: 'reports', access: 'reports:manage' },
  { method: 'PATCH', path: '/reports/definitions/{id}', function: 'reports', access: 'reports:manage', jsonBody: true },
  { method: 'DELETE', path: '/reports/definitions/{id}', function: 'reports', access: 'reports:manage' },
  { method: 'POST', path: '/reports/definitions/{id}/run', function: 'reports', access: 'reports:manage' },
  // Analytics and dashboards: charges:read; shared dashboards are changed with reports:manage (the service checks it).
  { method: 'GET', path: '/analytics/charges', function: 'analytics', access: 'charges:read' },
  { method: 'GET', path: '/analytics/qa', function: 'analytics', access: 'charges:read' },
  { method: 'GET', path: '/dashboards', function: 'analytics', access: 'charges:read' },
  { method: 'POST', path: '/dashboards', function: 'analytics', access: 'charges:read', jsonBody: true },
  { method: 'GET', path: '/dashboards/{id}', function: 'analytics', access: 'charges:read' },
  { method: 'PUT', path: '/dashboards/{id}', function: 'analytics', access: 'charges:read', jsonBody: true },
  { method: 'DELETE', path: '/dashboards/{id}', function: 'analytics', access: 'charges:read' },
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
