import * as z from 'zod';
import { wellFormedString } from '#platform/well-formed';
import { PERMISSIONS } from '#platform/permissions';
import { DisplayName, PublicUser } from '#users/model';

/** Request bodies of sign-in and the caller's own account. */
export const LoginBody = z
  .strictObject({
    // Ill-formed text is 422 like an over-long name: no account can have such a name (POST /users, OIDC), so the
    // answer depends on the input alone and reveals no user; as a 401 it would open a lockout and audit
    // chain (`login/<name>`) no URL can name.
    username: wellFormedString().min(1).max(128),
    // Long enough for any accepted password; the hash work stays bounded.
    password: z.string().min(1).max(1024),
  })
  .meta({ examples: [{ username: 'admin', password: 'correct horse battery staple' }] });
export const RefreshBody = z
  .strictObject({ refreshToken: z.string().min(1).max(512) })
  .meta({ examples: [{ refreshToken: 'rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f' }] });
export const LogoutBody = z.strictObject({ refreshToken: z.string().min(1).max(512).optional() });
export const PatchMeBody = z
  .strictObject({
    displayName: DisplayName.optional(),
    email: z.email().max(254).optional(),
  })
  .refine((b) => b.displayName !== undefined || b.email !== undefined, { message: 'Nothing to change' });
export const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(1024),
});

// Response bodies.

/** The answer of login and refresh: a short-lived access token and a one-time refresh token. */
export const TokenResponse = z
  .object({
    accessToken: z.string().describe('A JWT (RS256) for `Authorization: Bearer …`.'),
    /** One use only: a refresh answers a new one, and reusing an old one revokes the whole session. */
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.int().positive().describe('Seconds until the access token expires.'),
  })
  .meta({
    examples: [
      {
        accessToken: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl',
        refreshToken: 'rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f',
        tokenType: 'Bearer',
        expiresIn: 900,
      },
    ],
  });
export type TokenResponse = z.infer<typeof TokenResponse>;

/** `/users/me`: the stored user with the roles and permissions in effect for this request. */
export const Me = PublicUser.extend({ permissions: z.array(z.enum(PERMISSIONS)) });
export type Me = z.infer<typeof Me>;
