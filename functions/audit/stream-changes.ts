import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { AuditInput } from './audit-log';
import { type AttributionKey, type LastChange, verifiedLastChange } from './attribution';
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
export const OUT_OF_BAND: AuditActor = { userId: 'out-of-band', username: 'out-of-band' };

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
  /** Storage attributes the attribution MAC does not cover (keys and index attributes derived from the item). */
  readonly unsigned: ReadonlySet<string>;
  /** What a MODIFY did, named for what it means (`update`, `delete`, `role.change`…). */
  modifyAction(oldImage: Image, newImage: Image): string;
  /** What an INSERT is called; default `create`. */
  readonly createAction?: string;
  /**
   * An invariant of the owner's other items that an API write always keeps (a charge version has its snapshot):
   * a description of how the item breaks it, or undefined.
   */
  brokenInvariant?(entityId: string, item: Image): Promise<string | undefined>;
  /** The entity's current version (undefined when it does not exist): its chain must reach it. */
  currentVersion?(entityId: string): Promise<number | undefined>;
  /**
   * Whether a removed item is the stamped tombstone an API delete leaves (the delete is the tombstone's own,
   * attributed change): its REMOVE is then no change of its own. Only believed when the tombstone's MAC verifies.
   */
  isTombstone?(oldImage: Image): boolean;
}

function image(raw: unknown): Image | undefined {
  if (raw === undefined) return undefined;
  try {
    return unmarshall(raw as Record<string, AttributeValue>);
  } catch (err) {
    throw new PoisonedRecordError(`Stream image cannot be read: ${(err as Error).message}`);
  }
}

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** The table a stream record comes from: `arn:…:table/<name>/stream/<label>`. */
export function sourceTable(record: DynamoDBRecord): string {
  const match = /:table\/([^/]+)\/stream\//.exec(record.eventSourceARN ?? '');
  if (!match?.[1]) throw new PoisonedRecordError(`Unknown event source ${record.eventSourceARN ?? '(none)'}`);
  return match[1];
}

/** When the stream saw the change (the stream's clock, not the writer's). */
function streamTime(record: DynamoDBRecord): string {
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : new Date().toISOString();
}

/** Reads stream records of the given entities' tables as audit inputs. */
export function streamChanges(entities: readonly AuditedEntity[], key: () => AttributionKey) {
  // A table may hold several audited entities (users and service accounts): each item belongs to at most one.
  const byTable = new Map<string, AuditedEntity[]>();
  for (const e of entities) byTable.set(tableName(e.table), [...(byTable.get(tableName(e.table)) ?? []), e]);

  /** The entity an item of `table` is, and its id; undefined for items no entity audits. */
  function entityOf(table: string, keys: Image): { entity: AuditedEntity; entityId: string } | undefined {
    const candidates = byTable.get(table);
    if (!candidates) throw new PoisonedRecordError(`Stream of table ${table} is not audited here`);
    for (const entity of candidates) {
      const entityId = entity.entityIdOf(keys);
      if (entityId !== undefined) return { entity, entityId };
    }
    return undefined;
  }

  /**
   * Best effort, for ordering only: the entity a record belongs to even when the record itself is unusable,
   * so that a poisoned record still holds back the later records of its entity in the same batch.
   */
  function entityKeyHint(record: DynamoDBRecord): string | undefined {
    try {
      const keys = image(record.dynamodb?.Keys);
      const found = keys ? entityOf(sourceTable(record), keys) : undefined;
      return found ? entityKeyOf(found.entity.entityType, found.entityId) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Why a change cannot be attributed to the actor its item names, or undefined when it can: the item's
   * `lastChange` must carry the attribution key's MAC over the item, and follow the previous version by one (a
   * replayed or restored old item carries a valid MAC, but not for this step).
   */
  async function attribution(
    entity: AuditedEntity,
    entityId: string,
    event: 'INSERT' | 'MODIFY',
    oldImage: Image | undefined,
    newImage: Image,
  ): Promise<{ lastChange: LastChange } | { problem: string }> {
    const lastChange = await verifiedLastChange(key(), entity.entityType, entityId, newImage, entity.unsigned);
    if (!lastChange) return { problem: 'no valid attribution MAC' };
    const expected = event === 'INSERT' ? 1 : (num(oldImage?.version) ?? Number.NaN) + 1;
    if (num(newImage.version) !== expected) return { problem: `version ${String(newImage.version)} does not follow` };
    if (event === 'MODIFY' && oldImage?.lastChangeMac === newImage.lastChangeMac) {
      return { problem: 'the previous change replayed' };
    }
    const broken = await entity.brokenInvariant?.(entityId, newImage);
    return broken ? { problem: broken } : { lastChange };
  }

  /**
   * One stream record → the audit record it stands for, or undefined for items that are not audited.
   * Who, why, when and in which request come only from a `lastChange` the attribution MAC vouches for; anything
   * else is recorded as out-of-band, at the stream record's own time (an item's times are the writer's to choose).
   */
  async function toAuditInput(record: DynamoDBRecord): Promise<AuditInput | undefined> {
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

    const found = entityOf(sourceTable(record), keys);
    if (found === undefined) return undefined;
    const { entity, entityId } = found;

    if (
      event === 'REMOVE' &&
      entity.isTombstone?.(oldImage as Image) &&
      (await verifiedLastChange(key(), entity.entityType, entityId, oldImage as Image, entity.unsigned))
    ) {
      return undefined;
    }

    const current = newImage ?? oldImage ?? {};
    const attributed =
      event === 'REMOVE'
        ? { problem: 'item removed' }
        : await attribution(entity, entityId, event, oldImage, newImage as Image);
    const common = {
      idempotencyKey: eventId,
      entityType: entity.entityType,
      entityId,
      action:
        event === 'INSERT'
          ? (entity.createAction ?? 'create')
          : event === 'REMOVE'
            ? 'remove'
            : entity.modifyAction(oldImage as Image, newImage as Image),
      version: num(current.version),
      changes: diffFields(oldImage, newImage, entity.bookkeeping),
    };
    if ('problem' in attributed) {
      return {
        ...common,
        at: streamTime(record),
        actor: OUT_OF_BAND,
        reason: `Changed outside the API (${attributed.problem})`,
        requestId: null,
      };
    }
    const { lastChange } = attributed;
    return {
      ...common,
      at: lastChange.at,
      actor: lastChange.actor,
      reason: lastChange.reason,
      requestId: lastChange.requestId,
      correlationId: lastChange.correlationId ?? null,
    };
  }

  return { entityKeyHint, toAuditInput };
}
