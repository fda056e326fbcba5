import * as z from '#platform/zod';
import { wellFormedString } from '#platform/well-formed';
import { PERMISSIONS } from '#platform/permissions';
import { DisplayName, PublicUser } from '#users/model';

/** Request bodies of sign-in and the caller's own account. */
export const LoginBody = z
  .strictObject({
    // Ill-formed text is 422 like an over-long name: no account can have such a name (POST /users, OIDC), so the
    // answer depends on the input alone and reveals no user; as a 401 it would open a lockout and audit
    // chain (`login/<name>`) no URL can name.
    username: wellFormedString().check(z.minLength(1), z.maxLength(128)),
    // Long enough for any accepted password; the hash work stays bounded.
    password: z.string().check(z.minLength(1), z.maxLength(1024)),
    totp: z
      .optional(z.string().check(z.minLength(1), z.maxLength(64)))
      .check(
        z.describe('The current code of the authenticator app, or a recovery code: required once MFA is enrolled.'),
      ),
    session: z
      .optional(z.enum(['body', 'cookie']))
      .check(
        z.describe(
          '`cookie` (the console): the refresh token is set as the HttpOnly cookie `cr_refresh` (Path `/auth`) ' +
            'instead of being returned; `body` (default): it is in the answer.',
        ),
      ),
  })
  .check(z.meta({ examples: [{ username: 'admin', password: 'correct horse battery staple' }] }));
export const RefreshBody = z
  .strictObject({
    refreshToken: z
      .optional(z.string().check(z.minLength(1), z.maxLength(512)))
      .check(
        z.describe(
          'Left out: the `cr_refresh` cookie is used, and the header `X-Requested-With: charge-records` is required.',
        ),
      ),
  })
  .check(z.meta({ examples: [{ refreshToken: 'rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f' }] }));
export const LogoutBody = z.strictObject({
  refreshToken: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});
export const PatchMeBody = z
  .strictObject({
    displayName: z.optional(DisplayName),
    email: z.optional(z.email().check(z.maxLength(254))),
  })
  .check(z.refine((b) => b.displayName !== undefined || b.email !== undefined, { message: 'Nothing to change' }));
export const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().check(z.minLength(1), z.maxLength(1024)),
  newPassword: z.string().check(z.minLength(1), z.maxLength(1024)),
});

// Response bodies.

/** The answer of login and refresh: a short-lived access token and a one-time refresh token. */
export const TokenResponse = z
  .object({
    accessToken: z.string().check(z.describe('A JWT (RS256) for `Authorization: Bearer …`.')),
    /** One use only: a refresh answers a new one, and reusing an old one revokes the whole session. */
    refreshToken: z
      .optional(z.string())
      .check(z.describe('Absent for a cookie session: the new refresh token is in the `cr_refresh` cookie instead.')),
    tokenType: z.literal('Bearer'),
    expiresIn: z.int().check(z.positive(), z.describe('Seconds until the access token expires.')),
  })
  .check(
    z.meta({
      examples: [
        {
          accessToken: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl',
          refreshToken: 'rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f',
          tokenType: 'Bearer',
          expiresIn: 900,
        },
      ],
    }),
  );
export type TokenResponse = z.infer<typeof TokenResponse>;

/** `/users/me`: the stored user with the roles and permissions in effect for this request. */
export const Me = z.extend(PublicUser, { permissions: z.array(z.enum(PERMISSIONS)) });
export type Me = z.infer<typeof Me>;

/** One of the caller's live sessions, as `GET /users/me/sessions` lists them. */
export const SessionView = z
  .object({
    id: z.uuid().check(z.describe('Names the session for `DELETE /users/me/sessions/{id}`.')),
    createdAt: z.iso.datetime().check(z.describe('Sign-in time.')),
    lastUsedAt: z.iso.datetime().check(z.describe('Sign-in or last refresh; idle for `SESSION_IDLE_SECONDS` ends it.')),
    expiresAt: z.iso.datetime().check(z.describe('The absolute end, however active the session is.')),
    userAgent: z.optional(z.string()).check(z.describe('The browser or client that signed in, as it named itself.')),
    sourceIp: z.optional(z.string()).check(z.describe('The address it signed in from.')),
    current: z.boolean().check(z.describe('Whether this is the session of the token making the request.')),
  })
  .check(z.meta({ id: 'Session' }));
export type SessionView = z.infer<typeof SessionView>;

export const SessionList = z
  .object({ items: z.array(SessionView).check(z.describe('Newest first; at most 100.')) })
  .check(
    z.meta({
      examples: [
        {
          items: [
            {
              id: '3f0c6a52-8d1e-4b7a-9c2f-5e4d3c2b1a09',
              createdAt: '2026-05-02T08:00:00.000Z',
              lastUsedAt: '2026-05-02T08:14:00.000Z',
              expiresAt: '2026-05-09T08:00:00.000Z',
              userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
              sourceIp: '203.0.113.7',
              current: true,
            },
          ],
        },
      ],
    }),
  );
export type SessionList = z.infer<typeof SessionList>;

/** `GET /auth/sso/providers`: the sign-in page's SSO buttons. */
export const SsoProviderList = z
  .object({
    items: z.array(
      z.object({
        id: z.string().check(z.describe('For `GET /auth/sso/{provider}`.')),
        displayName: z.string().check(z.describe("The button's label.")),
      }),
    ),
  })
  .check(z.meta({ examples: [{ items: [{ id: 'corporate', displayName: 'Corporate sign-in' }] }] }));
export type SsoProviderList = z.infer<typeof SsoProviderList>;

export const SsoStartQuery = z.strictObject({
  purpose: z
    ._default(z.enum(['login', 'sign']), 'login')
    .check(z.describe('`sign`: a fresh sign-in (`prompt=login`, `max_age=0`) for an electronic signature ticket.')),
});

/**
 * What an identity provider sends back (RFC 6749 §4.1.2, OIDC): `code` and `state`, or `error`. Providers add their
 * own parameters (`session_state`, `iss`, `scope`…): those are passed on to the response check, not refused.
 */
export const SsoCallbackQuery = z.looseObject({
  state: z.optional(z.string().check(z.maxLength(512))),
  code: z.optional(z.string().check(z.maxLength(4096))),
  error: z.optional(z.string().check(z.maxLength(256))),
  error_description: z.optional(z.string().check(z.maxLength(1024))),
  iss: z.optional(z.string().check(z.maxLength(1024))),
});

/** `POST /auth/sso/ticket`: the one-time signature ticket a fresh SSO sign-in left for the console. */
export const SignatureTicketResponse = z
  .object({
    ticket: z.string().check(z.describe('Send it as `signature.ticket` with the QA decision; it works once.')),
    expiresIn: z
      .int()
      .check(z.minimum(0), z.describe('Seconds until it expires (`SIGNATURE_MAX_AGE_SECONDS` after sign-in).')),
  })
  .check(z.meta({ examples: [{ ticket: 'q0Fh3o0qWcS3l1w8cS2bX3m0V5d1Y7n9Q2r4T6u8W0z', expiresIn: 287 }] }));

// MFA (TOTP) enrolment and password reset.

/** A TOTP code (six digits) or a recovery code (`xxxx-xxxx-xxxx-xxxx`), wherever a second factor is asked for. */
const SecondFactor = z.string().check(z.trim(), z.minLength(1), z.maxLength(64));

export const MfaEnrolment = z
  .object({
    secret: z
      .string()
      .check(z.describe('The shared secret, base32: shown this once, for typing into an authenticator app.')),
    otpauthUri: z
      .string()
      .check(z.describe('The same as an `otpauth://totp/…` URI (SHA1, 6 digits, 30 s), for a QR code.')),
  })
  .check(
    z.meta({
      examples: [
        {
          secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
          otpauthUri:
            'otpauth://totp/Charge%20Records:qa.lead?issuer=Charge%20Records&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
        },
      ],
    }),
  );
export const ConfirmMfaBody = z
  .strictObject({ totp: SecondFactor.check(z.describe('The current code of the authenticator app.')) })
  .check(z.meta({ examples: [{ totp: '287082' }] }));
export const RecoveryCodes = z
  .object({
    recoveryCodes: z
      .array(z.string())
      .check(
        z.length(10),
        z.describe('Ten one-time codes, each usable once wherever a `totp` is asked for: shown this once.'),
      ),
  })
  .check(
    z.meta({
      examples: [
        {
          recoveryCodes: [
            'k7pd-m3xq-9tza-hw2e',
            'c4rn-v8bs-2kqf-yj6m',
            'u5ht-q9wc-3npx-7gad',
            'e2mz-r6kv-8bjt-4syq',
            'w3fa-n7hx-5cpu-9dkm',
            'p8qs-z2ge-6tvr-3mjw',
            'h4ky-c9dn-7rzb-2xqe',
            'a6vm-t3pj-8wsh-5ncu',
            'r9xe-k2qa-4mzd-7gtv',
            's5cw-h8yt-3bpk-6rfn',
          ],
        },
      ],
    }),
  );
export const RemoveMfaBody = z
  .strictObject({
    password: z.string().check(z.minLength(1), z.maxLength(1024)),
    totp: SecondFactor.check(z.describe('A current code, or a recovery code.')),
  })
  .check(z.meta({ examples: [{ password: 'correct horse battery staple', totp: '287082' }] }));

export const PasswordResetRequestBody = z
  .strictObject({ username: wellFormedString().check(z.minLength(1), z.maxLength(128)) })
  .check(z.meta({ examples: [{ username: 'qa.lead' }] }));
export const PasswordResetBody = z
  .strictObject({
    token: z.string().check(z.minLength(1), z.maxLength(512), z.describe('The `token` of the e-mailed link.')),
    newPassword: z.string().check(z.minLength(1), z.maxLength(1024)),
  })
  .check(
    z.meta({
      examples: [{ token: 'q0Fh3o0qWcS3l1w8cS2bX3m0V5d1Y7n9Q2r4T6u8W0z', newPassword: 'a new long passphrase' }],
    }),
  );
