import { type AuditedEntity, type Image, PoisonedRecordError } from '#audit/stream-changes';
import { USER_UNSIGNED_FIELDS, UserStore } from './store';

let store: UserStore | undefined;

/** Attributes of a user item that are bookkeeping, not user data. Secrets are redacted by the writer. */
const USER_METADATA_FIELDS: ReadonlySet<string> = new Set([
  'pk',
  'kind',
  'version',
  'createdAt',
  'createdBy',
  'updatedAt',
  'updatedBy',
  'updatedByName',
  'requestId',
  'reason',
  'lastChange',
  'lastChangeMac',
]);

/**
 * A user item change named for what it means (a security event): the stream is the one writer of item
 * changes, so a role change or a password change is exactly one record, named, with its from/to.
 */
function userAction(oldImage: Image, newImage: Image): string {
  const changed = (field: string) =>
    JSON.stringify(oldImage[field] ?? null) !== JSON.stringify(newImage[field] ?? null);
  if (changed('roles')) return 'role.change';
  if (changed('disabled')) return newImage.disabled === true ? 'user.disable' : 'user.enable';
  if (changed('mfaEnrolledAt')) return newImage.mfaEnrolledAt ? 'mfa.enrol' : 'mfa.remove';
  if (changed('passwordChangeRequired') && newImage.passwordChangeRequired === true) return 'password.reset';
  if (changed('passwordHash')) return 'password.change';
  if (changed('recoveryCodeHashes')) return 'mfa.recovery-code';
  if (changed('temporaryPasswordUsedAt')) return 'password.temporary-login';
  if (changed('tokensValidAfter')) return 'tokens.revoke';
  return 'update';
}

/**
 * How the audit trail reads the users table: one entity per user item (`user#<id>`); the username and OIDC
 * claim items that keep identities unique are not entities.
 */
export const auditedUsers: AuditedEntity = {
  table: 'users',
  entityType: 'user',
  entityIdOf(keys: Image) {
    if (typeof keys.pk !== 'string' || keys.pk === '') throw new PoisonedRecordError('User record without pk');
    return keys.pk.startsWith('user#') ? keys.pk.slice('user#'.length) : undefined;
  },
  bookkeeping: USER_METADATA_FIELDS,
  modifyAction: userAction,
  unsigned: USER_UNSIGNED_FIELDS,
  currentVersion: async (userId) => (await (store ??= new UserStore()).getById(userId))?.version,
};
