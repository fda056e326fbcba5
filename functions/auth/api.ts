import { header } from '#platform/http/headers';
import { httpHandler } from '#platform/http/handler';
import { defineRoutes, noContent, ok, route, type RouteContext } from '#platform/http/router';
import { unauthorized } from '#platform/errors';
import { verifyOidcToken } from './oidc';
import { verifyAccessToken } from '#signing/tokens';
import { UserStore } from '#users/store';
import { AuthService } from './service';
import { ChangePasswordBody, LoginBody, LogoutBody, Me, PatchMeBody, RefreshBody, TokenResponse } from './model';

const auth = new AuthService(new UserStore());

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
        'then the account (423 with `Retry-After`); too many attempts from one address are 429.',
      responses: [{ status: 200, description: 'Tokens', body: TokenResponse }],
      errors: ['UNAUTHORIZED', 'ACCOUNT_LOCKED'],
    },
    run: async (ctx) => ok(await auth.login(ctx.body.username, ctx.body.password, ctx.meta)),
  }),

  'POST /auth/refresh': route({
    body: RefreshBody,
    doc: {
      summary: 'Exchange a refresh token for new tokens',
      description: 'Each refresh token works once; reusing one revokes its whole session.',
      responses: [{ status: 200, description: 'New tokens', body: TokenResponse }],
      errors: ['UNAUTHORIZED'],
    },
    run: async (ctx) => ok(await auth.refresh(ctx.body.refreshToken, ctx.meta)),
  }),

  'POST /auth/logout': route({
    body: LogoutBody,
    bodyOptional: true,
    doc: {
      summary: 'Sign out',
      description: "Revokes the caller's access token, and the session of the refresh token when one is given.",
      responses: [{ status: 204, description: 'Signed out' }],
    },
    run: async (ctx) => {
      await auth.logout(ctx.caller, await currentToken(ctx), ctx.body.refreshToken, ctx.meta);
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
        'password policy (422). Other sessions end, this one stays.',
      responses: [{ status: 204, description: 'Changed' }],
      errors: ['FORBIDDEN', 'ACCOUNT_LOCKED'],
    },
    run: async (ctx) => {
      const token = await currentToken(ctx);
      await auth.changePassword(ctx.caller, ctx.body.currentPassword, ctx.body.newPassword, token.sid, ctx.meta);
      return noContent();
    },
  }),
});

export const handler = httpHandler(routes);
