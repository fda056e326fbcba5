import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { AuditInput } from './audit-log';
import { diffFields } from './diff';
import { type AuditActor, entityKeyOf } from './record';
import { tableName, type TableId } from '#platform/tables';
import { ChargeRecordsError } from '#platform/errors';

/** A stream record we cannot make sense of: reported as a batch item failure, never dropped. */
export class PoisonedRecordError extends ChargeRecordsError {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonedRecordError';
  }
}

/** A change nobody made through the API (console, script, restore): recorded, but not attributed to a user. */
const OUT_OF_BAND: AuditActor = { userId: 'out-of-band', username: 'out-of-band' };
const SYSTEM: AuditActor = { userId: 'system', username: 'system' };

export type Image = Record<string, unknown>;

/**
 * What the module that owns an audited table tells the audit trail about its items, so this code stays
 * generic: which items are entities, which attributes are bookkeeping, and what a change is called.
 */
export interface AuditedEntity {
  readonly table: TableId;
  readonly entityType: string;
  /**
   * The entity an item belongs to (from its key attributes), or undefined for items that are not audited on
   * their own (version snapshots, uniqueness claims). Throws PoisonedRecordError for a key that makes no sense.
   */
  entityIdOf(keys: Image): string | undefined;
  /** Attributes that describe a change rather than the entity: they are the record's actor/at/reason/version. */
  readonly bookkeeping: ReadonlySet<string>;
  /** What a MODIFY did, named for what it means (`update`, `delete`, `role.change`…). */
  modifyAction(oldImage: Image, newImage: Image): string;
  /** A MODIFY made around the API: every API write bumps `version`. */
  modifiedOutOfBand(oldImage: Image, newImage: Image): boolean;
  /** Who a change is recorded for when the item names no actor. */
  readonly unattributed: 'out-of-band' | 'system';
}

function image(raw: unknown): Image | undefined {
  if (raw === undefined) return undefined;
  try {
    return unmarshall(raw as Record<string, AttributeValue>);
  } catch (err) {
    throw new PoisonedRecordError(`Stream image cannot be read: ${(err as Error).message}`);
  }
}

/** `updatedBy` as `{userId, username}` (charges) or as a user id with `updatedByName` beside it (users). */
function actorOf(item: Image): AuditActor | undefined {
  const v = item.updatedBy as Partial<AuditActor> | string | undefined;
  if (typeof v === 'string' && v !== '') {
    return { userId: v, username: typeof item.updatedByName === 'string' ? item.updatedByName : v };
  }
  return v && typeof v === 'object' && typeof v.userId === 'string' && typeof v.username === 'string'
    ? { userId: v.userId, username: v.username }
    : undefined;
}

const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** The table a stream record comes from: `arn:…:table/<name>/stream/<label>`. */
export function sourceTable(record: DynamoDBRecord): string {
  const match = /:table\/([^/]+)\/stream\//.exec(record.eventSourceARN ?? '');
  if (!match?.[1]) throw new PoisonedRecordError(`Unknown event source ${record.eventSourceARN ?? '(none)'}`);
  return match[1];
}

function approximateTime(record: DynamoDBRecord): string {
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : new Date().toISOString();
}

/** Reads stream records of the given entities' tables as audit inputs. */
export function streamChanges(entities: readonly AuditedEntity[]) {
  const byTable = new Map(entities.map((e) => [tableName(e.table), e]));

  /**
   * Best effort, for ordering only: the entity a record belongs to even when the record itself is unusable,
   * so that a poisoned record still holds back the later records of its entity in the same batch.
   */
  function entityKeyHint(record: DynamoDBRecord): string | undefined {
    try {
      const entity = byTable.get(sourceTable(record));
      const keys = image(record.dynamodb?.Keys);
      const id = entity && keys ? entity.entityIdOf(keys) : undefined;
      return entity && id ? entityKeyOf(entity.entityType, id) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * One stream record → the audit record it stands for, or undefined for items that are not audited.
   * Who, why and in which request come from the item's `updatedBy`, `reason` and `requestId`, which every
   * API write sets.
   */
  function toAuditInput(record: DynamoDBRecord): AuditInput | undefined {
    const eventId = record.eventID;
    if (!eventId) throw new PoisonedRecordError('Stream record without eventID');
    const keys = image(record.dynamodb?.Keys);
    const oldImage = image(record.dynamodb?.OldImage);
    const newImage = image(record.dynamodb?.NewImage);
    const event = record.eventName;
    if (!keys) throw new PoisonedRecordError('Stream record without keys');
    if (event === 'INSERT' && !newImage) throw new PoisonedRecordError('INSERT without NewImage (stream view type?)');
    if (event === 'MODIFY' && (!newImage || !oldImage)) throw new PoisonedRecordError('MODIFY without both images');
    if (event === 'REMOVE' && !oldImage) throw new PoisonedRecordError('REMOVE without OldImage');
    if (event !== 'INSERT' && event !== 'MODIFY' && event !== 'REMOVE') {
      throw new PoisonedRecordError(`Unknown eventName ${String(event)}`);
    }

    const table = sourceTable(record);
    const entity = byTable.get(table);
    if (!entity) throw new PoisonedRecordError(`Stream of table ${table} is not audited here`);
    const entityId = entity.entityIdOf(keys);
    if (entityId === undefined) return undefined;

    const current = newImage ?? oldImage ?? {};
    const outOfBand =
      event === 'REMOVE' || (event === 'MODIFY' && entity.modifiedOutOfBand(oldImage as Image, newImage as Image));
    return {
      idempotencyKey: eventId,
      at: event === 'REMOVE' ? approximateTime(record) : (str(current.updatedAt) ?? approximateTime(record)),
      entityType: entity.entityType,
      entityId,
      action:
        event === 'INSERT'
          ? 'create'
          : event === 'REMOVE'
            ? 'remove'
            : entity.modifyAction(oldImage as Image, newImage as Image),
      actor: outOfBand ? OUT_OF_BAND : (actorOf(current) ?? (entity.unattributed === 'system' ? SYSTEM : OUT_OF_BAND)),
      ...(outOfBand
        ? { reason: 'Changed outside the API', requestId: null }
        : { reason: str(current.reason), requestId: str(current.requestId) }),
      version: num(current.version),
      changes: diffFields(oldImage, newImage, entity.bookkeeping),
    };
  }

  return { entityKeyHint, toAuditInput };
}
