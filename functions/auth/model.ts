import * as z from 'zod';
import { wellFormedString } from '#platform/well-formed';
import { DisplayName } from '#users/model';

/** Request bodies of sign-in and the caller's own account. */
export const LoginBody = z.strictObject({
  // Ill-formed text is 422 like an over-long name: no account can have such a name (POST /users, OIDC), so the
  // answer depends on the input alone and reveals no user; as a 401 it would open a lockout and audit
  // chain (`login/<name>`) no URL can name.
  username: wellFormedString().min(1).max(128),
  // Long enough for any accepted password; the hash work stays bounded.
  password: z.string().min(1).max(1024),
});
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
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
