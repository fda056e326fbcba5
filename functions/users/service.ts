import type { AuthenticatedUser } from '../shared/auth-context';
import { unlock as unlockLogin } from '../shared/auth/login-guard';
import { countRevocation, securityEvent } from '../shared/auth/security-events';
import { conflict, notFound, validationError } from '../shared/errors';
import type { Role } from '../shared/permissions';
import { hashPassword, passwordPolicyViolations } from '../shared/users/passwords';
import { type UserChanges, users } from '../shared/users/repository';
import { type PublicUser, toPublicUser, type User } from '../shared/users/user';

export interface Meta {
  requestId: string;
  sourceIp: string;
}

export interface CreateUserInput {
  username: string;
  password: string;
  roles: Role[];
  email?: string;
  displayName?: string;
}

export async function createUser(input: CreateUserInput, caller: AuthenticatedUser, meta: Meta): Promise<PublicUser> {
  const problems = passwordPolicyViolations(input.password, input.username);
  if (problems.length > 0) {
    throw validationError('The password does not meet the password policy', [
      { path: 'body.password', message: problems.join('; ') },
    ]);
  }
  const user = await users.create(
    {
      username: input.username,
      passwordHash: await hashPassword(input.password),
      roles: input.roles,
      email: input.email,
      displayName: input.displayName,
    },
    { actor: caller, requestId: meta.requestId },
  );
  return toPublicUser(user);
}

async function existing(userId: string): Promise<User> {
  const user = await users.getById(userId);
  if (!user) throw notFound('No such user');
  return user;
}

export async function getUser(userId: string): Promise<PublicUser> {
  return toPublicUser(await existing(userId));
}

export async function listUsers(limit: number, cursor?: string) {
  const page = await users.list(limit, cursor);
  return { items: page.items.map(toPublicUser), nextCursor: page.nextCursor ?? null };
}

const sameRoles = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

/**
 * Roles, disabled, e-mail and display name. Disabling or changing roles also ends the user's sessions now
 * (tokensValidAfter), so it takes effect on their very next request. The audit record (`role.change`,
 * `user.disable`, …) comes from the users stream: one record per change, with the roles before and after.
 */
export async function updateUser(
  userId: string,
  changes: { roles?: Role[]; disabled?: boolean; email?: string; displayName?: string },
  caller: AuthenticatedUser,
  meta: Meta,
): Promise<PublicUser> {
  const before = await existing(userId);
  if (userId === caller.userId && (changes.disabled === true || (changes.roles && !changes.roles.includes('admin')))) {
    // Guard against the last way back in: an admin cannot disable or demote themselves.
    throw conflict('You cannot disable your own account or remove your own admin role');
  }
  const rolesChanged = changes.roles !== undefined && !sameRoles(changes.roles, before.roles);
  const disabling = changes.disabled === true && !before.disabled;
  const update: UserChanges = { ...changes };
  // Also ends the session a password change exempted: otherwise re-enabling the user would revive it.
  if (rolesChanged || disabling) Object.assign(update, { tokensValidAfter: Date.now(), tokensValidAfterExceptSession: undefined });
  const after = await users.update(userId, update, { actor: caller, requestId: meta.requestId }, before.version);
  // One revocation per change that ended the sessions (a disable that also changes roles is one).
  if (disabling) countRevocation('disable');
  else if (rolesChanged) countRevocation('role-change');
  return toPublicUser(after);
}

/** DELETE keeps the record (audit, history) and disables the account. */
export async function deleteUser(userId: string, caller: AuthenticatedUser, meta: Meta): Promise<void> {
  await updateUser(userId, { disabled: true }, caller, meta);
}

export async function unlockUser(userId: string, caller: AuthenticatedUser, meta: Meta): Promise<void> {
  const user = await existing(userId);
  await unlockLogin(user.username);
  await securityEvent({ action: 'unlock', subject: user, actor: caller, requestId: meta.requestId, sourceIp: meta.sourceIp });
}

/** Ends every session of the user; the `tokens.revoke` audit record comes from the users stream. */
export async function revokeTokens(userId: string, caller: AuthenticatedUser, meta: Meta): Promise<void> {
  await existing(userId);
  await users.update(userId, { tokensValidAfter: Date.now(), tokensValidAfterExceptSession: undefined }, {
    actor: caller,
    requestId: meta.requestId,
    reason: 'tokens revoked',
  });
  countRevocation('revoke-tokens');
}
