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

export type AuthorizerContext = Record<'userId' | 'username' | 'roles' | 'permissions', string>;

export function toAuthorizerContext(user: AuthenticatedUser): AuthorizerContext {
  return {
    userId: user.userId,
    username: user.username,
    roles: user.roles.join(','),
    permissions: user.permissions.join(','),
  };
}

const split = (value: unknown) => (typeof value === 'string' && value !== '' ? value.split(',') : []);

export function fromAuthorizerContext(context: Record<string, unknown> | null | undefined): AuthenticatedUser | undefined {
  if (!context || typeof context.userId !== 'string' || typeof context.username !== 'string') return undefined;
  const known = new Set<string>(PERMISSIONS);
  return {
    userId: context.userId,
    username: context.username,
    roles: split(context.roles),
    permissions: split(context.permissions).filter((p): p is Permission => known.has(p)),
  };
}
