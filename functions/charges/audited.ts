import { type AuditedEntity, type Image, PoisonedRecordError } from '#audit/stream-changes';
import { CHARGE_ITEM_SK, CHARGE_METADATA_FIELDS } from './model';

/** How the audit trail reads the charges table: one entity per live item; version snapshots are not entities. */
export const auditedCharges: AuditedEntity = {
  table: 'charges',
  entityType: 'charge',
  entityIdOf(keys: Image) {
    if (keys.sk !== CHARGE_ITEM_SK) return undefined;
    if (typeof keys.chargeId !== 'string' || keys.chargeId === '') {
      throw new PoisonedRecordError('Charge record without chargeId');
    }
    return keys.chargeId;
  },
  bookkeeping: CHARGE_METADATA_FIELDS,
  modifyAction: (oldImage, newImage) => (newImage.deletedAt && !oldImage.deletedAt ? 'delete' : 'update'),
  modifiedOutOfBand: (oldImage, newImage) => oldImage.version === newImage.version,
  unattributed: 'out-of-band',
};
