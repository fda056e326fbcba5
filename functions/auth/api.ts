import * as z from 'zod';
import { header } from '#platform/http/headers';
import { httpHandler } from '#platform/http/handler';
import { noContent, ok, route, type RouteContext } from '#platform/http/router';
import { unauthorized } from '#platform/errors';
import { verifyOidcToken } from './oidc';
import { DisplayName } from '#users/schemas';
import { wellFormedString } from '#platform/well-formed';
import { verifyAccessToken } from '#signing/tokens';
import { changePassword, login, logout, me, refresh, updateMe, type RequestMeta } from './service';

const LoginBody = z.strictObject({
  // Ill-formed text is 422 like an over-long name: no account can have such a name (POST /users, OIDC), so the
  // answer depends on the input alone and reveals no user (SPEC §5); as a 401 it would open a lockout and audit
  // chain (`login/<name>`) no URL can name.
  username: wellFormedString().min(1).max(128),
  // Long enough for any accepted password; the hash work stays bounded.
  password: z.string().min(1).max(1024),
});
const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
const LogoutBody = z.strictObject({ refreshToken: z.string().min(1).max(512).optional() });
const PatchMeBody = z
  .strictObject({
    displayName: DisplayName.optional(),
    email: z.email().max(254).optional(),
  })
  .refine((b) => b.displayName !== undefined || b.email !== undefined, { message: 'Nothing to change' });
const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(1024),
});

const meta = (ctx: RouteContext<unknown, unknown>): RequestMeta => ({
  requestId: ctx.requestId,
  sourceIp: ctx.event.requestContext.identity.sourceIp,
});

/**
 * The caller's own access token (already verified by the authorizer): logout revokes it and password change
 * keeps its session alive. Verified again here rather than decoded blindly, so nothing rests on an unchecked
 * claim; an external (OIDC) token is revoked by its issuer-scoped jti, or its hash when it has none.
 */
async function currentToken(ctx: RouteContext<unknown, unknown>): Promise<{ jti: string; exp: number; sid?: string }> {
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
    run: async (ctx) => ok(await login(ctx.body.username, ctx.body.password, meta(ctx))),
  }),

  'POST /auth/refresh': route({
    body: RefreshBody,
    run: async (ctx) => ok(await refresh(ctx.body.refreshToken, meta(ctx))),
  }),

  'POST /auth/logout': route({
    body: LogoutBody,
    bodyOptional: true,
    run: async (ctx) => {
      await logout(ctx.caller, await currentToken(ctx), ctx.body.refreshToken, meta(ctx));
      return noContent();
    },
  }),

  'GET /users/me': route({ run: async (ctx) => ok(await me(ctx.caller)) }),

  'PATCH /users/me': route({
    body: PatchMeBody,
    run: async (ctx) => ok(await updateMe(ctx.caller, ctx.body, meta(ctx))),
  }),

  'POST /users/me/password': route({
    body: ChangePasswordBody,
    run: async (ctx) => {
      const token = await currentToken(ctx);
      await changePassword(ctx.caller, ctx.body.currentPassword, ctx.body.newPassword, token.sid, meta(ctx));
      return noContent();
    },
  }),
});
