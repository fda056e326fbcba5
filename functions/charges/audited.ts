import { type AuditedEntity, type Image, PoisonedRecordError } from '#audit/stream-changes';
import { CHARGE_ITEM_SK, CHARGE_METADATA_FIELDS, CHARGE_UNSIGNED_FIELDS } from './model';
import { ChargeStore } from './store';

let store: ChargeStore | undefined;

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
  modifyAction: (oldImage, newImage) =>
    newImage.deletedAt && !oldImage.deletedAt ? 'delete' : isNewReview(oldImage, newImage) ? 'review' : 'update',
  unsigned: CHARGE_UNSIGNED_FIELDS,
  currentVersion: async (chargeId) => (await (store ??= new ChargeStore()).get(chargeId))?.version,
  // Every API write puts the live item and its version's snapshot in one transaction, with the same stamp.
  async brokenInvariant(chargeId, item) {
    const version = typeof item.version === 'number' ? item.version : Number.NaN;
    const snapshot = Number.isInteger(version)
      ? await (store ??= new ChargeStore()).snapshot(chargeId, version)
      : undefined;
    if (!snapshot) return `version ${String(item.version)} has no snapshot`;
    return snapshot.lastChangeMac === item.lastChangeMac ? undefined : `version ${version} differs from its snapshot`;
  },
};

/** A version whose only news is a `reviewed` signature: a periodic review (its signature is in `changes`). */
function isNewReview(oldImage: Image, newImage: Image): boolean {
  const signature = newImage.signature as { meaning?: unknown; versionHash?: unknown } | undefined;
  const before = oldImage.signature as { versionHash?: unknown } | undefined;
  return signature?.meaning === 'reviewed' && signature.versionHash !== before?.versionHash;
}
