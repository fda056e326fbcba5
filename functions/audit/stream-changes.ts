import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { AuditInput } from './audit-log';
import { diffFields } from './diff';
import type { AuditActor } from './record';
import { tableName } from '#platform/tables';
import { CHARGE_ITEM_SK, CHARGE_METADATA_FIELDS } from '#charges/model';

/** A stream record we cannot make sense of: reported as a batch item failure, never dropped. */
export class PoisonedRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonedRecordError';
  }
}

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
]);

/** A change nobody made through the API (console, script, restore): recorded, but not attributed to a user. */
const OUT_OF_BAND: AuditActor = { userId: 'out-of-band', username: 'out-of-band' };
const SYSTEM: AuditActor = { userId: 'system', username: 'system' };

type Image = Record<string, unknown>;

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

/**
 * Best effort, for ordering only: the entity a record belongs to even when the record itself is unusable,
 * so that a poisoned record still holds back the later records of its entity in the same batch.
 */
export function entityKeyHint(record: DynamoDBRecord): string | undefined {
  const keys = record.dynamodb?.Keys;
  const chargeId = keys?.chargeId?.S;
  if (chargeId) return `charge#${chargeId}`;
  const pk = keys?.pk?.S;
  return pk?.startsWith('user#') ? `user#${pk.slice('user#'.length)}` : undefined;
}

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

/**
 * One stream record → the audit record it stands for, or undefined for items that are not audited
 * (charge version snapshots, username/OIDC claim items). Who, why and in which request come from the
 * item's `updatedBy`, `reason` and `requestId`, which every API write sets.
 */
export function toAuditInput(record: DynamoDBRecord): AuditInput | undefined {
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
  const current = newImage ?? oldImage ?? {};
  const base = {
    idempotencyKey: eventId,
    at: event === 'REMOVE' ? approximateTime(record) : (str(current.updatedAt) ?? approximateTime(record)),
    requestId: event === 'REMOVE' ? null : str(current.requestId),
    reason: event === 'REMOVE' ? null : str(current.reason),
  };

  if (table === tableName('charges')) {
    if (keys.sk !== CHARGE_ITEM_SK) return undefined;
    const chargeId = str(keys.chargeId);
    if (!chargeId) throw new PoisonedRecordError('Charge record without chargeId');
    // Every API write bumps the version; a change that does not was made around the API.
    const outOfBand = event === 'REMOVE' || (event === 'MODIFY' && oldImage?.version === newImage?.version);
    return {
      ...base,
      entityType: 'charge',
      entityId: chargeId,
      action:
        event === 'INSERT'
          ? 'create'
          : event === 'REMOVE'
            ? 'remove'
            : newImage?.deletedAt && !oldImage?.deletedAt
              ? 'delete'
              : 'update',
      actor: outOfBand ? OUT_OF_BAND : (actorOf(current) ?? OUT_OF_BAND),
      ...(outOfBand ? { reason: 'Changed outside the API', requestId: null } : {}),
      version: num(current.version),
      changes: diffFields(oldImage, newImage, CHARGE_METADATA_FIELDS),
    };
  }

  if (table === tableName('users')) {
    const pk = str(keys.pk);
    if (!pk) throw new PoisonedRecordError('User record without pk');
    if (!pk.startsWith('user#')) return undefined;
    const versioned = typeof oldImage?.version === 'number' && typeof newImage?.version === 'number';
    const outOfBand =
      event === 'REMOVE' || (event === 'MODIFY' && versioned && oldImage?.version === newImage?.version);
    return {
      ...base,
      entityType: 'user',
      entityId: pk.slice('user#'.length),
      action: event === 'INSERT' ? 'create' : event === 'REMOVE' ? 'remove' : userAction(oldImage, newImage),
      actor: outOfBand ? OUT_OF_BAND : (actorOf(current) ?? SYSTEM),
      ...(outOfBand ? { reason: 'Changed outside the API', requestId: null } : {}),
      version: num(current.version),
      changes: diffFields(oldImage, newImage, USER_METADATA_FIELDS),
    };
  }

  throw new PoisonedRecordError(`Stream of table ${table} is not audited here`);
}

/**
 * A user item change named for what it means (SPEC §6 security events): the stream is the one writer of
 * item changes, so a role change or a password change is exactly one record, named, with its from/to.
 */
function userAction(oldImage: Image | undefined, newImage: Image | undefined): string {
  const changed = (field: string) =>
    JSON.stringify(oldImage?.[field] ?? null) !== JSON.stringify(newImage?.[field] ?? null);
  if (changed('roles')) return 'role.change';
  if (changed('disabled')) return newImage?.disabled === true ? 'user.disable' : 'user.enable';
  if (changed('passwordHash')) return 'password.change';
  if (changed('tokensValidAfter')) return 'tokens.revoke';
  return 'update';
}
