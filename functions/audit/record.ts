import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import type { AuditActor, AuditRecord, ChainCheck, FieldChanges } from './model';

// The record types are inferred from the response schemas in ./model, so the trail and its API cannot differ.
export type { AuditActor, AuditRecord, ChainCheck, FieldChanges };

/** `prevHash` of an entity's first record: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** The stored item: the record plus the keys of the table and its indexes (derived, not hashed). */
export interface AuditItem extends AuditRecord {
  entityKey: string;
  actorId: string;
  atId: string;
  month: string;
}

export const entityKeyOf = (entityType: string, entityId: string) => `${entityType}#${entityId}`;

/** The record's hashed content: every record field except `hash` itself (and `prevHash`, which is the prefix). */
export function hashedContent(record: Omit<AuditRecord, 'hash'> | AuditRecord) {
  return {
    auditId: record.auditId,
    entityType: record.entityType,
    entityId: record.entityId,
    seq: record.seq,
    action: record.action,
    actor: { userId: record.actor.userId, username: record.actor.username },
    at: record.at,
    requestId: record.requestId,
    // Absent (not null) when the caller sent none, so the records written before it existed hash as they did.
    correlationId: record.correlationId,
    reason: record.reason,
    version: record.version,
    changes: record.changes,
  };
}

/** `hash = SHA-256(prevHash + canonical JSON of the record)`, hex. */
export function computeHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  return createHash('sha256')
    .update(record.prevHash + canonicalJson(hashedContent(record)), 'utf8')
    .digest('hex');
}

export function toAuditItem(record: AuditRecord): AuditItem {
  return {
    ...record,
    entityKey: entityKeyOf(record.entityType, record.entityId),
    actorId: record.actor.userId,
    atId: `${record.at}#${record.auditId}`,
    month: record.at.slice(0, 7),
  };
}

/**
 * The public record (what `GET /audit` returns): exactly the record fields, picked one by one. An attribute added to a
 * stored item by someone with table access (an `approvedBy`, an `actor.role`) is not hashed, so it is never shown
 * as if it were part of the record.
 */
export function fromAuditItem(item: Record<string, unknown>): AuditRecord {
  const r = item as unknown as AuditRecord;
  return {
    auditId: r.auditId,
    entityType: r.entityType,
    entityId: r.entityId,
    seq: r.seq,
    action: r.action,
    actor: { userId: r.actor?.userId, username: r.actor?.username },
    at: r.at,
    requestId: r.requestId,
    ...(typeof r.correlationId === 'string' ? { correlationId: r.correlationId } : {}),
    reason: r.reason,
    version: r.version,
    changes: r.changes,
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

/**
 * The index attributes an item carries must be the ones its record derives: they are not hashed, yet the actor
 * and time queries and the exports find records by them, so a record edited there would vanish from every
 * view but its entity's while its hash still held.
 */
function derivedMatch(
  item: AuditRecord & Partial<Pick<AuditItem, 'entityKey' | 'actorId' | 'atId' | 'month'>>,
): boolean {
  if (item.entityKey === undefined && item.actorId === undefined && item.atId === undefined && item.month === undefined)
    return true;
  const expected = toAuditItem(item);
  return (
    item.entityKey === expected.entityKey &&
    item.actorId === expected.actorId &&
    item.atId === expected.atId &&
    item.month === expected.month
  );
}

/**
 * Re-walks a chain (records in `seq` order): each record must follow its predecessor's position and hash
 * and hash to what it says, and stored items must carry the index attributes their record derives. The first
 * record that does not is named.
 */
export function verifyChain(records: readonly (AuditRecord & Partial<AuditItem>)[]): ChainCheck {
  let prevHash = GENESIS_HASH;
  for (const [index, record] of records.entries()) {
    const broken = (problem: NonNullable<ChainCheck['brokenAt']>['problem']): ChainCheck => ({
      valid: false,
      records: records.length,
      brokenAt: { seq: record.seq, auditId: record.auditId, problem },
    });
    if (record.seq !== index + 1) return broken('sequence_gap');
    if (record.prevHash !== prevHash) return broken('prev_hash_mismatch');
    if (computeHash(record) !== record.hash) return broken('hash_mismatch');
    if (!derivedMatch(record)) return broken('derived_mismatch');
    prevHash = record.hash;
  }
  return { valid: true, records: records.length };
}
