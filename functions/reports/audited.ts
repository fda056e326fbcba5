import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditedEntity, type Image, PoisonedRecordError } from '#audit/stream-changes';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { DEFINITION_ENTITY, DEFINITION_SK, DEFINITION_UNSIGNED_FIELDS, definitionKey } from './definition-item';

/** The definition's version, undefined when there is none (or only the tombstone of a delete). */
async function currentVersion(id: string): Promise<number | undefined> {
  const { Item } = await documentDb().send(
    new GetCommand({ TableName: tableName('reports'), Key: definitionKey(id), ConsistentRead: true }),
  );
  return Item && Item.deletedAt === undefined && typeof Item.version === 'number' ? Item.version : undefined;
}

/** What the audit record holds itself (actor, time, version, the stamp), or storage keys: not listed as changes. */
const DEFINITION_METADATA_FIELDS: ReadonlySet<string> = new Set([
  ...DEFINITION_UNSIGNED_FIELDS,
  'definitionId',
  'version',
  'createdAt',
  'createdBy',
  'updatedAt',
  'updatedBy',
  'lastChange',
  'lastChangeMac',
]);

/**
 * How the audit trail reads the reports table: one entity per definition item (`definition#<id>`); runs and the
 * definition count are not audited. A delete is the stamped tombstone's change (`deletedAt` set, the settings gone);
 * the REMOVE that clears the tombstone away is no change of its own.
 */
export const auditedReportDefinitions: AuditedEntity = {
  table: 'reports',
  entityType: DEFINITION_ENTITY,
  entityIdOf(keys: Image) {
    if (typeof keys.pk !== 'string' || keys.pk === '') throw new PoisonedRecordError('Reports record without pk');
    if (keys.sk !== DEFINITION_SK || !keys.pk.startsWith(`${DEFINITION_SK}#`)) return undefined;
    return keys.pk.slice(`${DEFINITION_SK}#`.length);
  },
  bookkeeping: DEFINITION_METADATA_FIELDS,
  modifyAction: (oldImage, newImage) => (newImage.deletedAt && !oldImage.deletedAt ? 'delete' : 'update'),
  unsigned: DEFINITION_UNSIGNED_FIELDS,
  currentVersion,
  isTombstone: (oldImage) => typeof oldImage.deletedAt === 'string',
};
