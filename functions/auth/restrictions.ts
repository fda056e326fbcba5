import type { AccountRestriction, AuthenticatedUser } from '#platform/auth-context';
import type { Role } from '#platform/permissions';
import { isExternal, type User } from '#users/model';
import { mfaEnrolled } from './second-factor';

/** The authorizer's caller, with what their account may do for now, if it is restricted. */
export type Caller = AuthenticatedUser & { restriction?: AccountRestriction };

/**
 * What a local user's account may do for now:
 * - `PASSWORD_CHANGE_REQUIRED` after an administrator's reset, until the temporary password is replaced;
 * - `MFA_ENROLMENT_REQUIRED` when one of their roles is in MFA_REQUIRED_ROLES and they have not enrolled.
 * SSO users are neither: their password and second factor are the identity provider's.
 */
export function accountRestriction(
  user: Pick<User, 'source' | 'roles' | 'passwordChangeRequired' | 'mfaSecret' | 'mfaEnrolledAt'>,
  mfaRequiredRoles: readonly Role[],
): AccountRestriction | undefined {
  if (isExternal(user)) return undefined;
  if (user.passwordChangeRequired) return 'PASSWORD_CHANGE_REQUIRED';
  if (!mfaEnrolled(user) && user.roles.some((r) => mfaRequiredRoles.includes(r))) return 'MFA_ENROLMENT_REQUIRED';
  return undefined;
}

/** The routes a restricted account can still call: reading itself, signing out, and lifting the restriction. */
const ALLOWED: Record<AccountRestriction, ReadonlySet<string>> = {
  PASSWORD_CHANGE_REQUIRED: new Set(['GET /users/me', 'POST /users/me/password', 'POST /auth/logout']),
  MFA_ENROLMENT_REQUIRED: new Set([
    'GET /users/me',
    'POST /users/me/mfa',
    'POST /users/me/mfa/confirm',
    'DELETE /users/me/mfa',
    'POST /auth/logout',
  ]),
};

export const restrictionAllows = (restriction: AccountRestriction, method: string, resource: string) =>
  ALLOWED[restriction].has(`${method.toUpperCase()} ${resource}`);
