import { defineRoutes, noContent, ok, route } from '#platform/http/router';
import { UserStore } from '#users/store';
import { MfaService } from './mfa';
import { ConfirmMfaBody, MfaEnrolment, RecoveryCodes, RemoveMfaBody } from './model';

const users = new UserStore();
const mfa = new MfaService(users);

/**
 * The auth function's routes for MFA enrolment (merged into its `routes`). The self-service password reset is a
 * function of its own (functions/auth/password-reset-api.ts).
 */
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
});
