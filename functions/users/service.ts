import type { AuthenticatedUser } from '#platform/auth-context';
import { countRevocation, securityEvent } from '#audit/security-events';
import { config } from '#platform/config';
import { AppError, conflict, notFound, validationError } from '#platform/errors';
import type { Role } from '#platform/permissions';
import { hashPassword, newTemporaryPassword, nextPasswordHistory, passwordPolicyViolations } from './passwords';
import type { UserStore } from './store';
import type { RequestMeta } from '#platform/request-meta';
import { isExternal, type PublicUser, toPublicUser, type User } from './model';

/**
 * What user administration needs from sign-in: clearing a username's lockout counters. The auth module
 * implements it; the users function's entry wires it in, so this module does not depend on auth.
 */
export interface LoginLocks {
  /** Clears every lockout counter of the username; true if one was set. */
  unlock(username: string): Promise<boolean>;
}

export interface CreateUserInput {
  username: string;
  password: string;
  roles: Role[];
  email?: string;
  displayName?: string;
  passwordChangeRequired?: boolean;
  reason: string;
}

const sameRoles = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

/**
 * An SSO user's roles are mapped from their token on every request and never stored: a role change here would be
 * answered, shown and audited, yet change nothing. Taking a role away from them means changing their groups at
 * the identity provider (or `roleMap`), or disabling them here.
 */
const rolesFromIdentityProvider = () =>
  conflict("An SSO user's roles come from their identity provider", [
    {
      path: 'body.roles',
      code: 'identity_provider',
      message:
        'roles of SSO users come from the identity provider (rolesClaim through roleMap in OIDC_PROVIDERS); change their groups there, or disable the user here',
    },
  ]);

/** User administration: accounts, roles, locks and sessions, with the acting admin on every change. */
export class UserService {
  constructor(
    private readonly users: UserStore,
    private readonly loginLocks: LoginLocks,
  ) {}

  async create(input: CreateUserInput, caller: AuthenticatedUser, meta: RequestMeta): Promise<PublicUser> {
    const problems = passwordPolicyViolations(input.password, input.username);
    if (problems.length > 0) {
      throw validationError('The password does not meet the password policy', [
        { path: 'body.password', code: 'password_policy', message: problems.join('; ') },
      ]);
    }
    const user = await this.users
      .create(
        {
          username: input.username,
          passwordHash: await hashPassword(input.password),
          roles: input.roles,
          email: input.email,
          displayName: input.displayName,
          passwordChangeRequired: input.passwordChangeRequired,
        },
        { actor: caller, requestId: meta.requestId, correlationId: meta.correlationId, reason: input.reason },
      )
      .catch(async (err: unknown) => {
        throw (await this.usernameOfDisabledUser(input.username, err)) ?? err;
      });
    return toPublicUser(user);
  }

  /**
   * A username stays with its user for good, disabled or not: records and signatures name people by it, and one
   * name must never stand for two people (21 CFR 11.100(a): a signature is unique to one individual and never
   * reassigned). A taken name of a disabled user is 409 that says so and names the user to re-enable instead.
   */
  private async usernameOfDisabledUser(username: string, err: unknown) {
    if (!(err instanceof AppError && err.code === 'CONFLICT')) return undefined;
    const holder = await this.users.getByUsername(username);
    if (!holder?.disabled) return undefined;
    return conflict(
      'This username belongs to a disabled user: usernames are never reassigned. Re-enable that user ' +
        '(PATCH /users/{id} with disabled: false) or choose another username',
      [{ path: 'body.username', code: 'username_of_disabled_user', message: `held by disabled user ${holder.userId}` }],
    );
  }

  async existing(userId: string): Promise<User> {
    const user = await this.users.getById(userId);
    if (!user) throw notFound('No such user');
    return user;
  }

  async get(userId: string): Promise<PublicUser> {
    return toPublicUser(await this.existing(userId));
  }

  async list(limit: number, cursor?: string) {
    const page = await this.users.list(limit, cursor);
    return { items: page.items.map(toPublicUser), nextCursor: page.nextCursor ?? null };
  }

  /**
   * Roles, disabled, e-mail and display name. Disabling or changing roles also ends the user's sessions now
   * (tokensValidAfter), so it takes effect on their very next request. The audit record (`role.change`,
   * `user.disable`, …) comes from the users stream: one record per change, with the roles before and after.
   * Taking away the last enabled local admin (a demotion, a disable, a DELETE) is 409: the repository counts them in
   * the same transaction as the write.
   *
   * The client sends no precondition (users have no If-Match), so another admin's change at the same moment is
   * no conflict: the repository reads the user again and this decides again, against the version it writes.
   */
  async update(
    userId: string,
    input: { roles?: Role[]; disabled?: boolean; email?: string; displayName?: string; reason: string },
    caller: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<PublicUser> {
    const { reason, ...changes } = input;
    await this.existing(userId);
    // Which change ended the sessions, as decided on the attempt that was written (the last one).
    const decided: { revocation?: 'disable' | 'role-change' } = {};
    const after = await this.users.update(
      userId,
      (current) => {
        if (changes.roles !== undefined && isExternal(current)) throw rolesFromIdentityProvider();
        const demotesSelf =
          changes.disabled === true || (changes.roles !== undefined && !changes.roles.includes('admin'));
        if (current.userId === caller.userId && demotesSelf) {
          // Guard against the last way back in: an admin cannot disable or demote themselves.
          throw conflict('You cannot disable your own account or remove your own admin role');
        }
        const rolesChanged = changes.roles !== undefined && !sameRoles(changes.roles, current.roles);
        const disabling = changes.disabled === true && !current.disabled;
        // One revocation per change that ended the sessions (a disable that also changes roles is one).
        decided.revocation = disabling ? 'disable' : rolesChanged ? 'role-change' : undefined;
        // Also ends the session a password change exempted: otherwise re-enabling the user would revive it.
        if (!decided.revocation) return { ...changes };
        return { ...changes, tokensValidAfter: Date.now(), tokensValidAfterExceptSession: undefined };
      },
      { actor: caller, requestId: meta.requestId, correlationId: meta.correlationId, reason },
    );
    if (decided.revocation) countRevocation(decided.revocation);
    return toPublicUser(after);
  }

  /** DELETE keeps the record (audit, history) and disables the account. */
  async remove(userId: string, reason: string, caller: AuthenticatedUser, meta: RequestMeta): Promise<void> {
    await this.update(userId, { disabled: true, reason }, caller, meta);
  }

  /**
   * An administrator's reset: a random temporary password replaces the user's (which joins the password history),
   * every session ends, and the user must set a new password at the next sign-in — the temporary one signs in once,
   * and that session can do nothing else (PASSWORD_CHANGE_REQUIRED). MFA enrolment is left as it is. The
   * `password.reset` audit record (no password, no hash) comes from the users stream.
   */
  async resetPassword(
    userId: string,
    reason: string,
    caller: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<{ temporaryPassword: string }> {
    const user = await this.existing(userId);
    if (isExternal(user)) throw conflict("An SSO user's password is their identity provider's: reset it there");
    const temporaryPassword = newTemporaryPassword();
    const passwordHash = await hashPassword(temporaryPassword);
    await this.users.update(
      userId,
      (current) => ({
        passwordHash,
        passwordHistory: nextPasswordHistory(current, config().PASSWORD_HISTORY),
        passwordChangeRequired: true,
        temporaryPasswordUsedAt: undefined,
        tokensValidAfter: Date.now(),
        tokensValidAfterExceptSession: undefined,
      }),
      { actor: caller, requestId: meta.requestId, correlationId: meta.correlationId, reason },
    );
    countRevocation('password-change');
    return { temporaryPassword };
  }

  async unlock(userId: string, caller: AuthenticatedUser, meta: RequestMeta): Promise<void> {
    const user = await this.existing(userId);
    await this.loginLocks.unlock(user.username);
    await securityEvent({
      action: 'unlock',
      subject: user,
      actor: caller,
      requestId: meta.requestId,
      sourceIp: meta.sourceIp,
    });
  }

  /** Ends every session of the user; the `tokens.revoke` audit record comes from the users stream. */
  async revokeTokens(userId: string, caller: AuthenticatedUser, meta: RequestMeta): Promise<void> {
    await this.existing(userId);
    await this.users.update(
      userId,
      { tokensValidAfter: Date.now(), tokensValidAfterExceptSession: undefined },
      {
        actor: caller,
        requestId: meta.requestId,
        correlationId: meta.correlationId,
        reason: 'tokens revoked',
      },
    );
    countRevocation('revoke-tokens');
  }
}
