import { config } from '#platform/config';
import { validationError } from '#platform/errors';
import type { User } from '#users/model';
import { hashPassword, isRecentPassword, nextPasswordHistory, passwordPolicyViolations } from '#users/passwords';
import type { UserChanges } from '#users/store';

/**
 * The user changes that set a new password the user chose (password change, reset link): the policy (422), then
 * the history — it must differ from the last PASSWORD_HISTORY passwords, the current one included (422) — and the
 * temporary-password state ends. Hashes only: the history never holds a password.
 */
export async function newPasswordChanges(
  user: User,
  newPassword: string,
  path = 'body.newPassword',
): Promise<UserChanges> {
  const remembered = config().PASSWORD_HISTORY;
  const problems = passwordPolicyViolations(newPassword, user.username);
  if (problems.length === 0 && (await isRecentPassword(newPassword, user))) {
    problems.push(`must differ from your last ${remembered} passwords`);
  }
  if (problems.length > 0) {
    throw validationError('The new password does not meet the password policy', [
      { path, code: 'password_policy', message: problems.join('; ') },
    ]);
  }
  return {
    passwordHash: await hashPassword(newPassword),
    passwordHistory: nextPasswordHistory(user, remembered),
    passwordChangeRequired: undefined,
    temporaryPasswordUsedAt: undefined,
  };
}
