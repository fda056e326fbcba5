import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from '#platform/http/headers';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, type HttpResult, noContent, ok, route, type RouteContext } from '#platform/http/router';
import { unauthorized } from '#platform/errors';
import { verifyOidcToken } from './oidc';
import { verifyAccessToken } from '#signing/tokens';
import { UserStore } from '#users/store';
import { clearRefreshCookie, hasCsrfHeader, REFRESH_COOKIE, refreshCookie, requestCookie } from './cookies';
import { endSession, listSessions } from './my-sessions';
import { accountRoutes } from './account-routes';
import { AuthService } from './service';
import type { SessionTokens } from './session-tokens';
import {
  ChangePasswordBody,
  LoginBody,
  LogoutBody,
  Me,
  PatchMeBody,
  RefreshBody,
  SessionList,
  TokenResponse,
} from './model';

const users = new UserStore();
const auth = new AuthService(users);

/**
 * Login and refresh answers: the tokens in the body, or for a cookie session (the console) the refresh token in the
 * `cr_refresh` cookie only, never readable by the page's scripts.
 */
function tokenAnswer(event: APIGatewayProxyEvent, tokens: SessionTokens, cookie: boolean): HttpResult {
  const body: TokenResponse = {
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType,
    expiresIn: tokens.expiresIn,
    ...(cookie ? {} : { refreshToken: tokens.refreshToken }),
  };
  if (!cookie) return ok(body);
  const maxAge = tokens.sessionExpiresAt - Math.floor(Date.now() / 1000);
  return { ...ok(body), cookies: [refreshCookie(event, tokens.refreshToken, maxAge)] };
}

/**
 * The caller's own access token (already verified by the authorizer): logout revokes it and password change
 * keeps its session alive. Verified again here rather than decoded blindly, so nothing rests on an unchecked
 * claim; an external (OIDC) token is revoked by its issuer-scoped jti, or its hash when it has none.
 */
async function currentToken(
  ctx: RouteContext<unknown, unknown, unknown>,
): Promise<{ jti: string; exp: number; sid?: string }> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header(ctx.event.headers, 'authorization') ?? '')?.[1];
  if (!bearer) throw unauthorized();
  try {
    return await verifyAccessToken(bearer);
  } catch {
    const external = await verifyOidcToken(bearer).catch(() => undefined);
    if (!external) throw unauthorized();
    return { jti: external.revocationId, exp: external.exp };
  }
}

export const routes = defineRoutes({
  'POST /auth/login': route({
    body: LoginBody,
    doc: {
      summary: 'Sign in with username and password',
      description:
        'A wrong username or password is 401 alike. Repeated failures lock the username for the source address, ' +
        'then the account (423 with `Retry-After`); too many attempts from one address are 429. With MFA on, the ' +
        'right password without `totp` — or with a wrong or used code — is 401 `MFA_REQUIRED` (a wrong code counts ' +
        'as a failure, a missing one does not). After an administrator reset the temporary password signs in once, ' +
        'and its tokens (claim `password_change_required`) reach only `POST /users/me/password`, `GET /users/me` and ' +
        'logout (403 `PASSWORD_CHANGE_REQUIRED` elsewhere).',
      responses: [{ status: 200, description: 'Tokens', body: TokenResponse }],
      errors: ['UNAUTHORIZED', 'MFA_REQUIRED', 'ACCOUNT_LOCKED'],
    },
    run: async (ctx) =>
      tokenAnswer(
        ctx.event,
        await auth.login(ctx.body.username, ctx.body.password, ctx.meta, ctx.body.totp),
        ctx.body.session === 'cookie',
      ),
  }),

  'POST /auth/refresh': route({
    body: RefreshBody,
    bodyOptional: true,
    doc: {
      summary: 'Exchange a refresh token for new tokens',
      description:
        'Each refresh token works once; reusing one revokes its whole session, and so does not refreshing for ' +
        '`SESSION_IDLE_SECONDS`. Without `refreshToken` the `cr_refresh` cookie is used — then only with the header ' +
        '`X-Requested-With: charge-records` (401 without it), and the new refresh token is set as the cookie again.',
      responses: [{ status: 200, description: 'New tokens', body: TokenResponse }],
      errors: ['UNAUTHORIZED'],
    },
    run: async (ctx) => {
      if (ctx.body.refreshToken !== undefined) {
        return tokenAnswer(ctx.event, await auth.refresh(ctx.body.refreshToken, ctx.meta), false);
      }
      const cookie = requestCookie(ctx.event, REFRESH_COOKIE);
      if (!cookie) throw unauthorized('No refresh token: sign in');
      // The browser adds the cookie to any request, a forged cross-site one too; only our own script sets this.
      if (!hasCsrfHeader(ctx.event)) throw unauthorized('A cookie refresh needs the header X-Requested-With');
      return tokenAnswer(ctx.event, await auth.refresh(cookie, ctx.meta), true);
    },
  }),

  'POST /auth/logout': route({
    body: LogoutBody,
    bodyOptional: true,
    doc: {
      summary: 'Sign out',
      description:
        "Revokes the caller's access token and its session, and the session of the refresh token when one is " +
        'given (or of the `cr_refresh` cookie, which is cleared).',
      responses: [{ status: 204, description: 'Signed out' }],
    },
    run: async (ctx) => {
      const cookie = requestCookie(ctx.event, REFRESH_COOKIE);
      await auth.logout(ctx.caller, await currentToken(ctx), ctx.body.refreshToken ?? cookie, ctx.meta);
      return { ...noContent(), cookies: [clearRefreshCookie(ctx.event)] };
    },
  }),

  'GET /users/me/sessions': route({
    doc: {
      summary: "The caller's sessions",
      description: 'Every live sign-in of the caller (not signed out, not idle, not past its absolute end).',
      responses: [{ status: 200, description: 'The sessions', body: SessionList }],
    },
    run: async (ctx) => ok(await listSessions(ctx.caller, (await currentToken(ctx)).sid)),
  }),

  'DELETE /users/me/sessions/{id}': route({
    doc: {
      summary: 'End one of the caller’s sessions',
      description:
        'Its refresh token and access tokens stop working at once. Another user’s session is 404, as an unknown one.',
      responses: [{ status: 204, description: 'Ended' }],
    },
    run: async (ctx) => {
      await endSession(ctx.caller, ctx.params.id, ctx.meta);
      return noContent();
    },
  }),

  'GET /users/me': route({
    doc: {
      summary: 'The caller',
      description: "With the roles and permissions in effect for this token (an SSO user's come from the token).",
      responses: [{ status: 200, description: 'The caller', body: Me }],
    },
    run: async (ctx) => ok(await auth.me(ctx.caller)),
  }),

  'PATCH /users/me': route({
    body: PatchMeBody,
    doc: {
      summary: "Change the caller's display name or e-mail",
      responses: [{ status: 200, description: 'The caller as changed', body: Me }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => ok(await auth.updateMe(ctx.caller, ctx.body, ctx.meta)),
  }),

  'POST /users/me/password': route({
    body: ChangePasswordBody,
    doc: {
      summary: "Change the caller's password",
      description:
        'A wrong `currentPassword` is 403 and counts towards the login lockout (423); the new one must meet the ' +
        'password policy and differ from the last `PASSWORD_HISTORY` passwords (422). Other sessions end, this one ' +
        'stays. After an administrator reset, the temporary password is the `currentPassword`.',
      responses: [{ status: 204, description: 'Changed' }],
      errors: ['FORBIDDEN', 'ACCOUNT_LOCKED'],
    },
    run: async (ctx) => {
      const token = await currentToken(ctx);
      await auth.changePassword(ctx.caller, ctx.body.currentPassword, ctx.body.newPassword, token.sid, ctx.meta);
      return noContent();
    },
  }),

  // MFA enrolment (functions/auth/account-routes.ts).
  ...accountRoutes,
});

export const handler = httpHandler(routes);
