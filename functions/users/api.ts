import * as z from 'zod';
import { DisplayName } from './schemas';
import { httpHandler } from '#platform/http/handler';
import { PageQuery } from '#platform/http/query-schemas';
import { created, noContent, ok, route, type RouteContext } from '#platform/http/router';
import { ROLES } from '#platform/permissions';
import { PASSWORD_MAX_LENGTH } from './passwords';
import { createUser, deleteUser, getUser, listUsers, revokeTokens, unlockUser, updateUser, type Meta } from './service';

const Roles = z
  .array(z.enum(ROLES))
  .max(ROLES.length)
  .refine((r) => new Set(r).size === r.length, 'Duplicate role');
const Username = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only');

const CreateUserBody = z.strictObject({
  username: Username,
  password: z
    .string()
    .min(1)
    .max(PASSWORD_MAX_LENGTH * 4),
  roles: Roles,
  email: z.email().max(254).optional(),
  displayName: DisplayName.optional(),
});
const PatchUserBody = z
  .strictObject({
    roles: Roles.optional(),
    disabled: z.boolean().optional(),
    email: z.email().max(254).optional(),
    displayName: DisplayName.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'Nothing to change' });

const meta = (ctx: RouteContext<unknown, unknown>): Meta => ({
  requestId: ctx.requestId,
  sourceIp: ctx.event.requestContext.identity.sourceIp,
});
const id = (ctx: RouteContext<unknown, unknown>) => ctx.params.id ?? '';

export const handler = httpHandler({
  'POST /users': route({
    body: CreateUserBody,
    run: async (ctx) => {
      const user = await createUser(ctx.body, ctx.caller, meta(ctx));
      return created(user, { Location: ctx.location(`/users/${user.userId}`) });
    },
  }),
  'GET /users': route({
    query: PageQuery,
    run: async (ctx) => ok(await listUsers(ctx.query.limit, ctx.query.cursor)),
  }),
  'GET /users/{id}': route({ run: async (ctx) => ok(await getUser(id(ctx))) }),
  'PATCH /users/{id}': route({
    body: PatchUserBody,
    run: async (ctx) => ok(await updateUser(id(ctx), ctx.body, ctx.caller, meta(ctx))),
  }),
  'DELETE /users/{id}': route({
    run: async (ctx) => {
      await deleteUser(id(ctx), ctx.caller, meta(ctx));
      return noContent();
    },
  }),
  'POST /users/{id}/unlock': route({
    run: async (ctx) => {
      await unlockUser(id(ctx), ctx.caller, meta(ctx));
      return noContent();
    },
  }),
  'POST /users/{id}/revoke-tokens': route({
    run: async (ctx) => {
      await revokeTokens(id(ctx), ctx.caller, meta(ctx));
      return noContent();
    },
  }),
});
