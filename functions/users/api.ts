import { httpHandler } from '#platform/http/handler';
import { PageQuery } from '#platform/http/query-schemas';
import { created, noContent, ok, route } from '#platform/http/router';
import { unlock } from '#auth/login-guard';
import { UserService } from './service';
import { UserStore } from './store';
import { CreateUserBody, PatchUserBody } from './model';

// The users function's own wiring: its store, and sign-in's lockout counters for unlock.
const users = new UserService(new UserStore(), { unlock });

export const handler = httpHandler({
  'POST /users': route({
    body: CreateUserBody,
    run: async (ctx) => {
      const user = await users.create(ctx.body, ctx.caller, ctx.meta);
      return created(user, { Location: ctx.location(`/users/${user.userId}`) });
    },
  }),
  'GET /users': route({
    query: PageQuery,
    run: async (ctx) => ok(await users.list(ctx.query.limit, ctx.query.cursor)),
  }),
  'GET /users/{id}': route({ run: async (ctx) => ok(await users.get(ctx.params.id)) }),
  'PATCH /users/{id}': route({
    body: PatchUserBody,
    run: async (ctx) => ok(await users.update(ctx.params.id, ctx.body, ctx.caller, ctx.meta)),
  }),
  'DELETE /users/{id}': route({
    run: async (ctx) => {
      await users.remove(ctx.params.id, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
  'POST /users/{id}/unlock': route({
    run: async (ctx) => {
      await users.unlock(ctx.params.id, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
  'POST /users/{id}/revoke-tokens': route({
    run: async (ctx) => {
      await users.revokeTokens(ctx.params.id, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
});
