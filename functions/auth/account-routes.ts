import { defineRoutes, noContent, ok, route } from '#platform/http/router';
import { UserStore } from '#users/store';
import { MfaService } from './mfa';
import {
  ConfirmMfaBody,
  MfaEnrolment,
  PasswordResetBody,
  PasswordResetRequestBody,
  RecoveryCodes,
  RemoveMfaBody,
} from './model';
import { PasswordResetService } from './password-reset';

const users = new UserStore();
const mfa = new MfaService(users);
const resets = new PasswordResetService(users);

/** The auth function's routes for MFA enrolment and the self-service password reset (merged into its `routes`). */
export const accountRoutes = defineRoutes({
  'POST /users/me/mfa': route({
    doc: {
      summary: 'Start an MFA (TOTP) enrolment',
      description:
        'A new shared secret for an authenticator app (RFC 6238: SHA-1, 6 digits, 30 s), shown only in this ' +
        'answer; MFA is on once `POST /users/me/mfa/confirm` confirms a code. Starting again replaces an ' +
        'unconfirmed secret. `CONFLICT` when MFA is already on, or for an SSO user (their identity provider asks).',
      responses: [{ status: 200, description: 'The pending secret', body: MfaEnrolment }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => ok(await mfa.begin(ctx.caller, ctx.meta)),
  }),

  'POST /users/me/mfa/confirm': route({
    body: ConfirmMfaBody,
    doc: {
      summary: 'Confirm the MFA enrolment with a code',
      description:
        'A current code from the app for the pending secret turns MFA on: from now on login, signatures and MFA ' +
        'removal also need a code (`totp`). Answers ten recovery codes, each usable once in place of a code, shown ' +
        'only here. A wrong code is 422; no pending enrolment is `CONFLICT`.',
      responses: [{ status: 200, description: 'MFA is on; the recovery codes', body: RecoveryCodes }],
      errors: ['CONFLICT'],
    },
    run: async (ctx) => ok(await mfa.confirm(ctx.caller, ctx.body.totp, ctx.meta)),
  }),

  'DELETE /users/me/mfa': route({
    body: RemoveMfaBody,
    doc: {
      summary: 'Turn MFA off',
      description:
        'Needs the password and a current code (or a recovery code), checked as a login checks them: a wrong one is ' +
        '403 and counts towards the lockout (423). `CONFLICT` when MFA is not on.',
      responses: [{ status: 204, description: 'MFA is off' }],
      errors: ['FORBIDDEN', 'CONFLICT', 'ACCOUNT_LOCKED'],
    },
    run: async (ctx) => {
      await mfa.remove(ctx.caller, ctx.body.password, ctx.body.totp, ctx.meta);
      return noContent();
    },
  }),

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
