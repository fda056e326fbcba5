import { httpHandler } from '#platform/http/handler';
import { defineRoutes, noContent, route } from '#platform/http/router';
import { UserStore } from '#users/store';
import { PasswordResetBody, PasswordResetRequestBody } from './model';
import { PasswordResetService } from './password-reset';

// A function of its own (password-reset): the SES client that mails the link stays out of the login bundle, and
// only this function may send mail among the sign-in functions.
const resets = new PasswordResetService(new UserStore());

export const routes = defineRoutes({
  'POST /auth/password-reset/request': route({
    body: PasswordResetRequestBody,
    doc: {
      summary: 'Ask for a password reset link',
      description:
        'Always 202, in the same time, whether or not the username exists: a local, enabled user with an e-mail ' +
        'address gets a link to the console (`/console/#/reset?token=…`) that works once within 30 minutes. ' +
        'Limited per source address like login (429).',
      responses: [{ status: 202, description: 'Accepted (whatever the username)' }],
    },
    run: async (ctx) => {
      await resets.request(ctx.body.username, ctx.meta);
      return { statusCode: 202 };
    },
  }),

  'POST /auth/password-reset': route({
    body: PasswordResetBody,
    doc: {
      summary: 'Set a new password with a reset link',
      description:
        'The `token` of the e-mailed link, once, within 30 minutes (422 on `body.token` otherwise). The new ' +
        'password must meet the policy and differ from the last `PASSWORD_HISTORY` ones (422; the link stays ' +
        'usable). Every session of the user ends.',
      responses: [{ status: 204, description: 'Password set' }],
    },
    run: async (ctx) => {
      await resets.complete(ctx.body.token, ctx.body.newPassword, ctx.meta);
      return noContent();
    },
  }),
});

export const handler = httpHandler(routes);
