import { header } from '#platform/http/headers';
import { httpHandler } from '#platform/http/handler';
import { noContent, ok, route, type RouteContext } from '#platform/http/router';
import { unauthorized } from '#platform/errors';
import { verifyOidcToken } from './oidc';
import { verifyAccessToken } from '#signing/tokens';
import { UserStore } from '#users/store';
import { AuthService } from './service';
import { ChangePasswordBody, LoginBody, LogoutBody, PatchMeBody, RefreshBody } from './model';

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

export const handler = httpHandler({
  'POST /auth/login': route({
    body: LoginBody,
    run: async (ctx) => ok(await auth.login(ctx.body.username, ctx.body.password, ctx.meta)),
  }),

  'POST /auth/refresh': route({
    body: RefreshBody,
    run: async (ctx) => ok(await auth.refresh(ctx.body.refreshToken, ctx.meta)),
  }),

  'POST /auth/logout': route({
    body: LogoutBody,
    bodyOptional: true,
    run: async (ctx) => {
      await auth.logout(ctx.caller, await currentToken(ctx), ctx.body.refreshToken, ctx.meta);
      return noContent();
    },
  }),

  'GET /users/me': route({ run: async (ctx) => ok(await auth.me(ctx.caller)) }),

  'PATCH /users/me': route({
    body: PatchMeBody,
    run: async (ctx) => ok(await auth.updateMe(ctx.caller, ctx.body, ctx.meta)),
  }),

  'POST /users/me/password': route({
    body: ChangePasswordBody,
    run: async (ctx) => {
      const token = await currentToken(ctx);
      await auth.changePassword(ctx.caller, ctx.body.currentPassword, ctx.body.newPassword, token.sid, ctx.meta);
      return noContent();
    },
  }),
});
