import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditedEntity, type Image, PoisonedRecordError } from '#audit/stream-changes';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { SERVICE_ACCOUNT_ENTITY, SERVICE_ACCOUNT_UNSIGNED_FIELDS, serviceAccountPk } from './account-item';

const PREFIX = serviceAccountPk('');

/** What the audit record holds itself (actor, time, version, the stamp), or storage keys: not listed as changes. */
const SERVICE_ACCOUNT_METADATA_FIELDS: ReadonlySet<string> = new Set([
  ...SERVICE_ACCOUNT_UNSIGNED_FIELDS,
  'serviceAccountId',
  'version',
  'createdAt',
  'createdBy',
  'lastChange',
  'lastChangeMac',
  // Names the current secret (a token's `sid`): its change is the rotation, recorded by `secretRotatedAt`.
  'credentialId',
]);

function changed(oldImage: Image, newImage: Image, field: string): boolean {
  return JSON.stringify(oldImage[field] ?? null) !== JSON.stringify(newImage[field] ?? null);
}

/**
 * How the audit trail reads the service accounts of the users table (`service-account#<id>`): created, secret
 * rotated, deleted (`deletedAt` set; the item stays). The secret's hash is redacted by the audit writer.
 */
export const auditedServiceAccounts: AuditedEntity = {
  table: 'users',
  entityType: SERVICE_ACCOUNT_ENTITY,
  entityIdOf(keys: Image) {
    if (typeof keys.pk !== 'string' || keys.pk === '') throw new PoisonedRecordError('Users record without pk');
    return keys.pk.startsWith(PREFIX) && keys.pk.length > PREFIX.length ? keys.pk.slice(PREFIX.length) : undefined;
  },
  bookkeeping: SERVICE_ACCOUNT_METADATA_FIELDS,
  createAction: 'service-account.create',
  modifyAction(oldImage, newImage) {
    if (newImage.deletedAt && !oldImage.deletedAt) return 'service-account.delete';
    if (changed(oldImage, newImage, 'secretRotatedAt')) return 'service-account.secret-rotate';
    return 'service-account.update';
  },
  unsigned: SERVICE_ACCOUNT_UNSIGNED_FIELDS,
  async currentVersion(id) {
    const { Item } = await documentDb().send(
      new GetCommand({ TableName: tableName('users'), Key: { pk: serviceAccountPk(id) }, ConsistentRead: true }),
    );
    return Item && typeof Item.version === 'number' ? Item.version : undefined;
  },
};
