import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountRestriction, AuthenticatedUser, RateLimitState } from '#platform/auth-context';
import { nowSeconds } from './clock';
import { countInWindow } from './counters';
import { type OidcIdentity, verifyOidcToken } from './oidc';
import { type Family, sessionAlive } from './sessions';
import { sessionRoles } from './session-tokens';
import { accountRestriction, type Caller, restrictionAllows } from './restrictions';
import { config } from '#platform/config';
import { documentDb } from '#platform/dynamo';
import { AppError, ChargeRecordsError } from '#platform/errors';
import { permissionsFor } from '#platform/permissions';
import { findRoute } from '#platform/routes';
import { AccessTokenError, verifyAccessToken } from '#signing/tokens';
import { tableName } from '#platform/tables';
import { UserStore } from '#users/store';
import { isServiceAccountId, serviceAccountPrincipal } from '#service-accounts/principal';
import { type User, userPk } from '#users/model';

const users = new UserStore();

/**
 * The authorizer's decision, apart from API Gateway's event and policy shapes:
 *
 *   1. verify the bearer token in memory (our JWKS, or a configured OIDC issuer's) — no KMS call;
 *   2. ONE consistent BatchGetItem for the caller's current state: the user item (disabled? roles? tokens
 *      revoked after this session began?), the token's revocation marker and its session (refresh family);
 *   3. only for a token that passed 2: ONE UpdateItem, the per-user rate-limit counter (see `authenticateOwn`
 *      for why after 2, not together with it);
 *   4. the route's permission from the shared route table, against the user's CURRENT roles.
 *
 * So two DynamoDB calls per request, one after the other, and a revocation, disable or role change is seen on
 * the very next request.
 */
export class UnauthorizedError extends ChargeRecordsError {
  /** `userId`: whose token it was, when it verified but the user's state refused it (for the log line). */
  constructor(
    readonly reason: string,
    readonly userId?: string,
  ) {
    super('Unauthorized');
  }
}

export type Decision =
  | { effect: 'Allow'; user: AuthenticatedUser; rate: RateLimitState; restriction?: AccountRestriction }
  | { effect: 'Deny'; user: AuthenticatedUser; reason: 'permission'; rate: RateLimitState };

export function bearerToken(headers: Record<string, string | undefined> | null | undefined): string {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'authorization' || !value) continue;
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(value.trim());
    if (match?.[1]) return match[1];
  }
  throw new UnauthorizedError('no bearer token');
}

interface CallerState {
  user?: User;
  revoked: boolean;
  family?: Family;
}

async function loadState(
  userId: string,
  jti: string | undefined,
  sid: string | undefined,
  now: number,
): Promise<CallerState> {
  const usersTable = tableName('users');
  const authTable = tableName('auth-state');
  const authKeys = [...(jti ? [{ pk: `revoked#${jti}` }] : []), ...(sid ? [{ pk: `family#${sid}` }] : [])];
  const out = await documentDb().send(
    new BatchGetCommand({
      RequestItems: {
        [usersTable]: { Keys: [{ pk: userPk(userId) }], ConsistentRead: true },
        ...(authKeys.length ? { [authTable]: { Keys: authKeys, ConsistentRead: true } } : {}),
      },
    }),
  );
  if (out.UnprocessedKeys && Object.keys(out.UnprocessedKeys).length > 0) {
    // Fail closed: a partial read must never let a revoked token through.
    throw new Error('BatchGetItem left keys unprocessed');
  }
  const userItem = out.Responses?.[usersTable]?.[0];
  const authItems = out.Responses?.[authTable] ?? [];
  // TTL deletes late (DynamoDB Local never): an expired item counts as absent.
  const live = (item: Record<string, unknown>) => typeof item.expiresAt !== 'number' || item.expiresAt > now;
  const revoked = authItems.some((i) => i.pk === `revoked#${jti}` && live(i));
  const family = authItems.find((i) => i.pk === `family#${sid}` && live(i)) as Family | undefined;
  return { user: userItem?.kind === 'user' ? (userItem as unknown as User) : undefined, revoked, family };
}

async function rateLimit(userId: string, now: number): Promise<RateLimitState> {
  const limit = config().RATE_LIMIT_PER_MINUTE;
  const { remaining, resetAt, exceeded } = await countInWindow(`rate#${userId}`, 60, limit, now);
  return { limit, remaining, resetAt, exceeded };
}

/**
 * Our own access tokens: the user's stored state decides, not the token's claims. The rate-limit count comes
 * only after the state read, for a token the state accepted: a refused token (revoked, session ended, tokens
 * revoked, user disabled) must not spend its owner's allowance — else whoever holds a stolen token keeps the
 * victim at 429 after the victim logged out or changed their password. Sending both together and undoing the
 * count on a refusal is not clean: until the undo lands, the victim's own requests see the inflated count, and
 * a burst of refused requests in flight keeps it inflated. So the count waits for the read: one more round trip.
 */
async function authenticateOwn(token: string, now: number): Promise<Caller> {
  const claims = await verifyAccessToken(token).catch((err: unknown) => {
    throw new UnauthorizedError(err instanceof AccessTokenError ? err.reason : 'invalid token');
  });
  if (isServiceAccountId(claims.sub)) {
    // A machine identity: its own item and rules (functions/service-accounts/principal.ts).
    const outcome = await serviceAccountPrincipal(claims, now);
    if ('refused' in outcome) throw new UnauthorizedError(outcome.refused, claims.sub);
    return outcome.user;
  }
  const state = await loadState(claims.sub, claims.jti, claims.sid, now);
  if (state.revoked) throw new UnauthorizedError('token revoked', claims.sub);
  const user = state.user;
  if (!user) throw new UnauthorizedError('unknown user', claims.sub);
  if (claims.sid !== undefined) {
    if (!sessionAlive(user, state.family, now)) throw new UnauthorizedError('session ended', claims.sub);
  } else if (user.disabled || claims.iat * 1000 < user.tokensValidAfter) {
    throw new UnauthorizedError('tokens revoked', claims.sub);
  }
  // An SSO browser session's roles are the ones its sign-in mapped (kept on the session), never the token's claims.
  const roles = claims.sid !== undefined ? sessionRoles(user, state.family) : user.roles;
  const restriction = accountRestriction(user, config().MFA_REQUIRED_ROLES);
  return {
    userId: user.userId,
    username: user.username,
    roles,
    permissions: permissionsFor(roles),
    ...(restriction ? { restriction } : {}),
  };
}

/**
 * The user of an external identity, created on first sight (a bearer token here, a browser sign-in in `sso.ts`).
 * A taken readable name falls back to `sub@host`.
 */
export async function oidcUserId(
  identity: Pick<OidcIdentity, 'issuer' | 'subject' | 'username' | 'fallbackUsername'>,
): Promise<string | undefined> {
  const existing = await users.userIdForOidcIdentity(identity.issuer, identity.subject);
  if (existing) return existing;
  for (const username of [identity.username, identity.fallbackUsername]) {
    try {
      const created = await users.create(
        {
          username,
          // No stored roles: an external user's roles come from their token on every request.
          roles: [],
          source: `oidc:${identity.issuer}`,
          oidcIdentity: { issuer: identity.issuer, subject: identity.subject },
        },
        { actor: { userId: 'system', username: 'oidc-jit' }, reason: `first sign-in via ${identity.issuer}` },
      );
      return created.userId;
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'CONFLICT')) throw err;
      // Either the name is taken, or a concurrent first request created this identity: look again.
      const raced = await users.userIdForOidcIdentity(identity.issuer, identity.subject);
      if (raced) return raced;
    }
  }
  return undefined;
}

/** External OIDC tokens: the user by issuer + sub, its current state and the token's revocation; roles from the token. */
async function authenticateOidc(token: string, now: number): Promise<AuthenticatedUser | undefined> {
  let identity: OidcIdentity | undefined;
  try {
    identity = await verifyOidcToken(token);
  } catch {
    throw new UnauthorizedError('invalid external token');
  }
  if (!identity) return undefined;
  const userId = await oidcUserId(identity);
  if (!userId) throw new UnauthorizedError('external user could not be created');
  const state = await loadState(userId, identity.revocationId, undefined, now);
  const user = state.user;
  if (state.revoked) throw new UnauthorizedError('token revoked', userId);
  if (!user || user.disabled || identity.iat * 1000 < user.tokensValidAfter)
    throw new UnauthorizedError('external user refused', userId);
  return {
    userId: user.userId,
    username: user.username,
    roles: identity.roles,
    permissions: permissionsFor(identity.roles),
  };
}

export async function authorize(request: {
  headers: Record<string, string | undefined> | null | undefined;
  httpMethod: string;
  resource: string;
}): Promise<Decision> {
  const now = nowSeconds();
  const token = bearerToken(request.headers);
  let user: Caller;
  try {
    user = await authenticateOwn(token, now);
  } catch (err) {
    // Not one of ours (unknown kid / issuer): maybe a configured external issuer's. One of ours that verified but
    // whose state refused it (it names its user) is no external token: it is not verified a second time.
    const external =
      err instanceof UnauthorizedError && err.userId === undefined ? await authenticateOidc(token, now) : undefined;
    if (!external) throw err;
    user = external;
  }
  // Every request of an accepted token counts against the caller's limit, denied ones too; refused tokens never
  // got here (see `authenticateOwn`).
  const rate = await rateLimit(user.userId, now);
  const route = findRoute(request.httpMethod, request.resource);
  // A service account reaches only routes that name a permission it holds: `authenticated` routes are a person's
  // own account (profile, password, logout).
  const missing =
    (route?.access === 'authenticated' && isServiceAccountId(user.userId)) ||
    (route &&
      route.access !== 'public' &&
      route.access !== 'authenticated' &&
      !user.permissions.includes(route.access));
  // A throttled caller gets 429 whatever they ask for. An authorizer can only allow or deny, so it allows with
  // `exceeded` set, and the handler's envelope answers 429 before any route runs (the router checks the
  // permission again behind it).
  // A restricted account (a temporary password, a missing MFA enrolment) gets its own 403 from the handler's envelope
  // on every route but the few that lift the restriction, whatever its permissions.
  const restriction =
    user.restriction && route && !restrictionAllows(user.restriction, request.httpMethod, request.resource)
      ? user.restriction
      : undefined;
  if (restriction) return { effect: 'Allow', user, rate, restriction };
  if (missing && !rate.exceeded) return { effect: 'Deny', user, reason: 'permission', rate };
  return { effect: 'Allow', user, rate };
}
