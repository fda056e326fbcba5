import type { Permission } from './permissions';
import { PERMISSIONS } from './permissions';

/**
 * What the authorizer hands to every route handler (API Gateway's `requestContext.authorizer`).
 * API Gateway only passes string, number and boolean values, so lists travel comma-separated.
 */
export interface AuthenticatedUser {
  userId: string;
  username: string;
  roles: string[];
  permissions: Permission[];
}

/** The caller's per-user API rate-limit window, counted by the authorizer. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Epoch seconds when the window resets. */
  resetAt: number;
  exceeded: boolean;
}

/**
 * An account that may, for now, only lift its own restriction: a temporary password to replace, an MFA enrolment its
 * role requires. The authorizer names it; the handler's envelope answers 403 with it as the code.
 */
export type AccountRestriction = 'PASSWORD_CHANGE_REQUIRED' | 'MFA_ENROLMENT_REQUIRED';
export const RESTRICTION_MESSAGES: Record<AccountRestriction, string> = {
  PASSWORD_CHANGE_REQUIRED: 'Set a new password first (POST /users/me/password): this password was temporary',
  MFA_ENROLMENT_REQUIRED: 'Enrol in multi-factor authentication first (POST /users/me/mfa): your role requires it',
};
const RESTRICTIONS: ReadonlySet<string> = new Set<AccountRestriction>([
  'PASSWORD_CHANGE_REQUIRED',
  'MFA_ENROLMENT_REQUIRED',
]);

export type AuthorizerContext = Record<'userId' | 'username' | 'roles' | 'permissions', string> &
  Partial<Record<'rateLimit' | 'rateRemaining' | 'rateReset' | 'rateExceeded' | 'restriction', string>>;

export function toAuthorizerContext(
  user: AuthenticatedUser,
  rate?: RateLimitState,
  restriction?: AccountRestriction,
): AuthorizerContext {
  return {
    ...(restriction ? { restriction } : {}),
    userId: user.userId,
    username: user.username,
    roles: user.roles.join(','),
    permissions: user.permissions.join(','),
    ...(rate
      ? {
          rateLimit: String(rate.limit),
          rateRemaining: String(Math.max(0, rate.remaining)),
          rateReset: String(rate.resetAt),
          rateExceeded: String(rate.exceeded),
        }
      : {}),
  };
}

export function rateLimitFromContext(context: Record<string, unknown> | null | undefined): RateLimitState | undefined {
  if (!context || context.rateLimit === undefined) return undefined;
  return {
    limit: Number(context.rateLimit),
    remaining: Number(context.rateRemaining),
    resetAt: Number(context.rateReset),
    exceeded: String(context.rateExceeded) === 'true',
  };
}

export function restrictionFromContext(
  context: Record<string, unknown> | null | undefined,
): AccountRestriction | undefined {
  const value = context?.restriction;
  return typeof value === 'string' && RESTRICTIONS.has(value) ? (value as AccountRestriction) : undefined;
}

const KNOWN_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);

const split = (value: unknown) => (typeof value === 'string' && value !== '' ? value.split(',') : []);

export function fromAuthorizerContext(
  context: Record<string, unknown> | null | undefined,
): AuthenticatedUser | undefined {
  if (!context || typeof context.userId !== 'string' || typeof context.username !== 'string') return undefined;
  return {
    userId: context.userId,
    username: context.username,
    roles: split(context.roles),
    permissions: split(context.permissions).filter((p): p is Permission => KNOWN_PERMISSIONS.has(p)),
  };
}

/** The caller's window, on every authenticated answer (the handlers' and the gateway's 403 alike). */
export const rateLimitHeaders = (rate: RateLimitState): Record<string, string> => ({
  'X-RateLimit-Limit': String(rate.limit),
  'X-RateLimit-Remaining': String(Math.max(0, rate.remaining)),
  'X-RateLimit-Reset': String(rate.resetAt),
});
