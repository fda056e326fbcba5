import { httpHandler } from '#platform/http/handler';
import { PageQuery } from '#platform/http/query-schemas';
import { created, defineRoutes, noContent, ok, route } from '#platform/http/router';
import { unlock } from '#auth/login-guard';
import { UserService } from './service';
import { UserStore } from './store';
import { CreateUserBody, PatchUserBody, PublicUser, ReasonBody, TemporaryPassword, UserPage } from './model';

// The users function's own wiring: its store, and sign-in's lockout counters for unlock.
const users = new UserService(new UserStore(), { unlock });

export const routes = defineRoutes({
  'POST /users': route({
    body: CreateUserBody,
    doc: {
      summary: 'Create a local user',
      description:
        'The password must meet the password policy (422); `reason` is required. A taken username is `CONFLICT` — ' +
        'also when a disabled user holds it: usernames are never reassigned (re-enable that user instead).',
      responses: [{ status: 201, description: 'The user', body: PublicUser, headers: ['Location'] }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => {
      const user = await users.create(ctx.body, ctx.caller, ctx.meta);
      return created(user, { Location: ctx.location(`/users/${user.userId}`) });
    },
  }),
  'GET /users': route({
    query: PageQuery,
    doc: { summary: 'List users', responses: [{ status: 200, description: 'A page of users', body: UserPage }] },
    run: async (ctx) => ok(await users.list(ctx.query.limit, ctx.query.cursor)),
  }),
  'GET /users/{id}': route({
    doc: { summary: 'Read a user', responses: [{ status: 200, description: 'The user', body: PublicUser }] },
    run: async (ctx) => ok(await users.get(ctx.params.id)),
  }),
  'PATCH /users/{id}': route({
    body: PatchUserBody,
    doc: {
      summary: 'Change a user',
      description:
        'Roles, disabled, e-mail, display name, with a required `reason`. `CONFLICT` for the last enabled local ' +
        "admin, your own admin role or account, and an SSO user's roles.",
      responses: [{ status: 200, description: 'The user as changed', body: PublicUser }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => ok(await users.update(ctx.params.id, ctx.body, ctx.caller, ctx.meta)),
  }),
  'DELETE /users/{id}': route({
    body: ReasonBody,
    doc: {
      summary: 'Disable a user',
      description:
        'Users are disabled, never removed (their records stay, and their username is never given to anyone ' +
        'else); their tokens stop working. `reason` is required.',
      responses: [{ status: 204, description: 'Disabled' }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => {
      await users.remove(ctx.params.id, ctx.body.reason, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
  'POST /users/{id}/password-reset': route({
    body: ReasonBody,
    doc: {
      summary: "Reset a user's password",
      description:
        'Answers a temporary password, once. It signs in once, and that session can only set a new password ' +
        '(403 `PASSWORD_CHANGE_REQUIRED` elsewhere); every session of the user ends now. `CONFLICT` for an SSO ' +
        'user. `reason` is required.',
      responses: [{ status: 200, description: 'The temporary password', body: TemporaryPassword }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => ok(await users.resetPassword(ctx.params.id, ctx.body.reason, ctx.caller, ctx.meta)),
  }),
  'POST /users/{id}/unlock': route({
    doc: {
      summary: "Lift a user's login lockout",
      responses: [{ status: 204, description: 'Unlocked' }],
    },
    run: async (ctx) => {
      await users.unlock(ctx.params.id, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
  'POST /users/{id}/revoke-tokens': route({
    doc: {
      summary: "Revoke all of a user's tokens",
      description: 'Every session and access token issued so far stops working.',
      responses: [{ status: 204, description: 'Revoked' }],
    },
    run: async (ctx) => {
      await users.revokeTokens(ctx.params.id, ctx.caller, ctx.meta);
      return noContent();
    },
  }),
});

export const handler = httpHandler(routes);
