import { randomBytes } from 'node:crypto';
import { config } from '#platform/config';
import { hashPassword, passwordPolicyViolations } from './passwords';
import { UserStore } from './store';

const users = new UserStore();

export const BOOTSTRAP_USERNAME = 'admin';

/**
 * First start with no users: creates `admin` with BOOTSTRAP_ADMIN_PASSWORD, or with a random
 * password that is returned once for the caller to print. The username claim makes a concurrent second
 * bootstrap fail instead of creating a second admin. Like every new admin, it is counted as an enabled local admin
 * in the same transaction (`admin-count.ts`), so the last-admin rule protects it from the start.
 */
export async function ensureBootstrapAdmin(
  configuredPassword = config().BOOTSTRAP_ADMIN_PASSWORD,
): Promise<{ created: false } | { created: true; username: string; generatedPassword?: string }> {
  if (await users.any()) return { created: false };
  const password = configuredPassword || randomBytes(18).toString('base64url');
  const problems = passwordPolicyViolations(password, BOOTSTRAP_USERNAME);
  if (problems.length > 0) throw new Error(`BOOTSTRAP_ADMIN_PASSWORD ${problems.join('; ')}`);
  await users.create(
    { username: BOOTSTRAP_USERNAME, passwordHash: await hashPassword(password), roles: ['admin'] },
    { actor: { userId: 'system', username: 'bootstrap' }, reason: 'first start: no users' },
  );
  return {
    created: true,
    username: BOOTSTRAP_USERNAME,
    ...(configuredPassword ? {} : { generatedPassword: password }),
  };
}
