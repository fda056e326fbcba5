import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditedEntity, type Image, PoisonedRecordError } from '#audit/stream-changes';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { DASHBOARD_ENTITY, DASHBOARD_PK, DASHBOARD_UNSIGNED_FIELDS, dashboardKey } from './dashboard-item';

/** The dashboard's version, undefined when there is none (or only the tombstone of a delete). */
async function currentVersion(id: string): Promise<number | undefined> {
  const { Item } = await documentDb().send(
    new GetCommand({ TableName: tableName('dashboards'), Key: dashboardKey(id), ConsistentRead: true }),
  );
  return Item && Item.deletedAt === undefined && typeof Item.version === 'number' ? Item.version : undefined;
}

/** What the audit record holds itself (actor, time, version, the stamp), or storage keys: not listed as changes. */
const DASHBOARD_METADATA_FIELDS: ReadonlySet<string> = new Set([
  ...DASHBOARD_UNSIGNED_FIELDS,
  'id',
  'version',
  'createdAt',
  'updatedAt',
  'updatedBy',
  'lastChange',
  'lastChangeMac',
]);

/**
 * How the audit trail reads the analytics table: one entity per dashboard item (`pk = "DASH"`, `sk` = its id); the
 * aggregates, applied-record markers and the seed marker are not audited. A delete is the stamped tombstone's change
 * (`deletedAt` set, the widgets gone); the REMOVE that clears the tombstone away is no change of its own.
 */
export const auditedDashboards: AuditedEntity = {
  table: 'dashboards',
  entityType: DASHBOARD_ENTITY,
  entityIdOf(keys: Image) {
    if (typeof keys.pk !== 'string' || keys.pk === '') throw new PoisonedRecordError('Analytics record without pk');
    if (keys.pk !== DASHBOARD_PK) return undefined;
    if (typeof keys.sk !== 'string' || keys.sk === '') throw new PoisonedRecordError('Dashboard record without sk');
    return keys.sk;
  },
  bookkeeping: DASHBOARD_METADATA_FIELDS,
  modifyAction: (oldImage, newImage) => (newImage.deletedAt && !oldImage.deletedAt ? 'delete' : 'update'),
  unsigned: DASHBOARD_UNSIGNED_FIELDS,
  currentVersion,
  isTombstone: (oldImage) => typeof oldImage.deletedAt === 'string',
};
