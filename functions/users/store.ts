import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type CancellationReason,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { diffFields } from '#audit/diff';
import { attributionKey } from '#audit/adapters';
import { lastChangeOf, stampItem } from '#audit/attribution';
import { type CursorQuery, decodeCursor, encodeCursor, isKey, type KeyValue, queryFromCursor } from '#platform/cursor';
import { documentDb } from '#platform/dynamo';
import { conflict, AppError } from '#platform/errors';
import { tableName } from '#platform/tables';
import type { Role } from '#platform/permissions';
import { adminCountChange, initialiseAdminCount, lastAdmin, readAdminCount } from './admin-count';
import { isEnabledLocalAdmin, isExternal, oidcClaimPk, type User, userPk, usernameClaimPk } from './model';

export interface Actor {
  userId: string;
  username: string;
}

export interface ChangeContext {
  actor: Actor;
  requestId?: string;
  /** The caller's X-Request-ID, kept apart from the server's request id. */
  correlationId?: string;
  reason?: string;
}

/** Storage attributes of a user item that the attribution MAC does not cover (the entity id is bound in it). */
export const USER_UNSIGNED_FIELDS: ReadonlySet<string> = new Set(['pk', 'kind']);

/** The stored item with its `lastChange` and the attribution MAC over both. */
async function stamped(item: Record<string, unknown>, userId: string, context: ChangeContext, at: string) {
  const { lastChangeMac: _previous, ...rest } = item;
  const withChange = { ...rest, lastChange: lastChangeOf(context.actor, context.reason, context, at) };
  return stampItem(attributionKey(), 'user', userId, withChange, USER_UNSIGNED_FIELDS);
}

export interface NewUser {
  username: string;
  passwordHash?: string;
  roles: Role[];
  email?: string;
  displayName?: string;
  source?: string;
  /** For OIDC users: the identity that must stay unique (issuer + sub). */
  oidcIdentity?: { issuer: string; subject: string };
  /** The password is an initial one: it signs in once, and only to set the person's own. */
  passwordChangeRequired?: boolean;
}

export type UserChanges = Partial<
  Pick<
    User,
    | 'roles'
    | 'disabled'
    | 'email'
    | 'displayName'
    | 'passwordHash'
    | 'tokensValidAfter'
    | 'tokensValidAfterExceptSession'
    | 'passwordHistory'
    | 'passwordChangeRequired'
    | 'temporaryPasswordUsedAt'
    | 'mfaSecret'
    | 'mfaPendingSecret'
    | 'mfaEnrolledAt'
    | 'recoveryCodeHashes'
  >
>;

/**
 * The changes, or a function that decides them from the user as stored: called again on every attempt, so rules
 * and decisions that depend on the stored user (did the roles change?) hold for the version actually written.
 */
export type UserUpdate = UserChanges | ((current: User) => UserChanges);

const nowIso = () => new Date().toISOString();

function fromItem(item: Record<string, unknown> | undefined): User | undefined {
  if (!item || item.kind !== 'user') return undefined;
  const { pk: _pk, kind: _kind, ...user } = item;
  // External users carry no stored roles (theirs come from the token); any an older version wrote are not theirs.
  const external = typeof user.source === 'string' && isExternal({ source: user.source });
  return { roles: [], ...user, ...(external ? { roles: [] } : {}) } as unknown as User;
}

/** External users are stored without roles: theirs come from the token, and only the users function writes roles. */
function storedItem(user: User): Record<string, unknown> {
  const { roles, ...rest } = user;
  return { pk: userPk(user.userId), kind: 'user', ...rest, ...(isExternal(user) ? {} : { roles }) };
}

/** `GET /users` has no filters: its cursors only name the list, and start at a user in the byKind index. */
const USER_LIST: CursorQuery = { list: 'users' };
const isUserListStart = (key: unknown): key is Record<string, KeyValue> =>
  isKey(key, ['pk', 'kind', 'username']) && key.kind === 'user' && String(key.pk).startsWith('user#');

/** Attributes an `undefined` in UserChanges removes; for every other field `undefined` means "leave as is". */
const REMOVABLE: ReadonlySet<string> = new Set([
  'tokensValidAfterExceptSession',
  'passwordChangeRequired',
  'temporaryPasswordUsedAt',
  'mfaSecret',
  'mfaPendingSecret',
  'mfaEnrolledAt',
  'recoveryCodeHashes',
]);

/**
 * Attempts of read, compare and conditional write when the caller named no version (a concurrent change retries).
 * Each round one of the writers racing on the user wins, so this many lets that many admins change one user at once.
 */
const MAX_UPDATE_ATTEMPTS = 10;

/** A short random pause before the next attempt, so writers that lost together do not collide again. */
const retryPause = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));

const concurrentChange = () =>
  new AppError('CONFLICT', 'The user was changed concurrently or does not exist; reload and retry');

const sameRoles = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

/** A transaction cancelled only because another one held one of its items: sending it again may well succeed. */
const onlyConflicted = (reasons: CancellationReason[]) =>
  reasons.some((r) => r.Code === 'TransactionConflict') && !reasons.some((r) => r.Code === 'ConditionalCheckFailed');

/**
 * The part of `changes` that changes something, compared as the audit trail compares (canonical JSON);
 * roles are a set, so the same roles in another order are no change.
 */
function effectiveChanges(current: User, changes: UserChanges): UserChanges {
  const before = current as unknown as Record<string, unknown>;
  const after: Record<string, unknown> = { ...before };
  const effective: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) {
      if (!REMOVABLE.has(field) || before[field] === undefined) continue;
      delete after[field];
    } else if (field === 'roles' && sameRoles(value as string[], current.roles)) {
      continue;
    } else {
      after[field] = value;
    }
    effective[field] = value;
  }
  const changed = diffFields(before, after);
  return Object.fromEntries(Object.entries(effective).filter(([field]) => field in changed)) as UserChanges;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface UserPage {
  items: User[];
  nextCursor?: string;
}

/**
 * The users table. A username (and an OIDC issuer + subject) is made unique by a claim item written in
 * the same transaction as the user, conditional on not existing: the database, not a read-then-write,
 * refuses a duplicate.
 */
export class UserStore {
  private get table() {
    return tableName('users');
  }

  async create(input: NewUser, context: ChangeContext): Promise<User> {
    const now = nowIso();
    const user: User = {
      userId: randomUUID(),
      username: input.username,
      ...(input.passwordHash ? { passwordHash: input.passwordHash } : {}),
      roles: input.roles,
      disabled: false,
      source: input.source ?? 'local',
      ...(input.email !== undefined ? { email: input.email } : {}),
      ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
      ...(input.passwordChangeRequired ? { passwordChangeRequired: true } : {}),
      tokensValidAfter: 0,
      version: 1,
      createdAt: now,
      createdBy: context.actor.userId,
      updatedAt: now,
      updatedBy: context.actor.userId,
      updatedByName: context.actor.username,
      ...(context.requestId ? { requestId: context.requestId } : {}),
      ...(context.reason ? { reason: context.reason } : {}),
    };
    const claims = [usernameClaimPk(input.username)];
    if (input.oidcIdentity) claims.push(oidcClaimPk(input.oidcIdentity.issuer, input.oidcIdentity.subject));
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.table,
          Item: await stamped(storedItem(user), user.userId, context, now),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...claims.map((pk) => ({
        Put: {
          TableName: this.table,
          Item: { pk, userId: user.userId },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
    ];
    // A new admin (the bootstrap admin too) is counted in the same transaction.
    const refused = await this.transact(items, isEnabledLocalAdmin(user) ? 1 : 0);
    if (refused) throw conflict('A user with this username already exists', { field: 'username' });
    return user;
  }

  /**
   * Writes `items` in one transaction, with the admin count's change when `adminDelta` is not 0. What only the
   * count or a concurrent transaction stopped is sent again (the items' own conditions still guard them): a missing
   * count is first created, and taking away the last enabled local admin is 409. Answers true when one of
   * `items`' own conditions failed.
   */
  private async transact(items: TransactItem[], adminDelta: -1 | 0 | 1): Promise<boolean> {
    const all = adminDelta === 0 ? items : [...items, adminCountChange(adminDelta)];
    for (let attempt = 1; ; attempt++) {
      try {
        await documentDb().send(new TransactWriteCommand({ TransactItems: all }));
        return false;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons.slice(0, items.length).some((r) => r.Code === 'ConditionalCheckFailed')) return true;
        if (reasons[items.length]?.Code === 'ConditionalCheckFailed') {
          const admins = await readAdminCount();
          if (admins === undefined) await initialiseAdminCount();
          else if (adminDelta < 0 && admins <= 1) throw lastAdmin();
          // Otherwise the count changed since the attempt: send again.
        } else if (!onlyConflicted(reasons)) {
          throw err;
        }
        if (attempt >= MAX_UPDATE_ATTEMPTS) throw concurrentChange();
        await retryPause(attempt);
      }
    }
  }

  async getById(userId: string, consistent = true): Promise<User | undefined> {
    const out = await documentDb().send(
      new GetCommand({ TableName: this.table, Key: { pk: userPk(userId) }, ConsistentRead: consistent }),
    );
    return fromItem(out.Item);
  }

  private async resolveClaim(pk: string): Promise<User | undefined> {
    const claim = await documentDb().send(new GetCommand({ TableName: this.table, Key: { pk }, ConsistentRead: true }));
    const userId = claim.Item?.userId;
    return typeof userId === 'string' ? this.getById(userId) : undefined;
  }

  getByUsername(username: string): Promise<User | undefined> {
    return this.resolveClaim(usernameClaimPk(username));
  }

  getByOidcIdentity(issuer: string, subject: string): Promise<User | undefined> {
    return this.resolveClaim(oidcClaimPk(issuer, subject));
  }

  /** One read: the user id an external identity maps to (the authorizer then reads the user in its batch). */
  async userIdForOidcIdentity(issuer: string, subject: string): Promise<string | undefined> {
    const claim = await documentDb().send(
      new GetCommand({ TableName: this.table, Key: { pk: oidcClaimPk(issuer, subject) }, ConsistentRead: true }),
    );
    return typeof claim.Item?.userId === 'string' ? claim.Item.userId : undefined;
  }

  /**
   * Applies changes if the user is still at `expectedVersion` (optimistic concurrency); version + 1. A change is
   * a change (version +1 per change), as for charges: when every field already has the value asked for,
   * nothing is written — no new version, so no stream record and no audit record — and the user is returned as
   * it is. The comparison is made against the version the write is conditional on, so it cannot go stale.
   * Without `expectedVersion` a concurrent change is no conflict: the user is read again and `changes` re-applied.
   */
  async update(userId: string, changes: UserUpdate, context: ChangeContext, expectedVersion?: number): Promise<User> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getById(userId);
      if (!current || (expectedVersion !== undefined && current.version !== expectedVersion)) throw concurrentChange();
      const effective = effectiveChanges(current, typeof changes === 'function' ? changes(current) : changes);
      if (Object.keys(effective).length === 0) return current;
      const written = await this.write(current, effective, context);
      if (written) return written;
      // Changed between our read and our write: the caller's version is stale, or (none given) compare again.
      if (expectedVersion !== undefined || attempt >= MAX_UPDATE_ATTEMPTS) throw concurrentChange();
      await retryPause(attempt);
    }
  }

  /**
   * One conditional write at the current user's version; undefined when the user is no longer at that version.
   * A change that makes the user an enabled local admin, or stops them being one, is a transaction with the admin
   * count (`admin-count.ts`); any other is one UpdateItem.
   */
  private async write(current: User, changes: UserChanges, context: ChangeContext): Promise<User | undefined> {
    const now = nowIso();
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = {
      ':one': 1,
      ':now': now,
      ':by': context.actor.userId,
      ':byName': context.actor.username,
      ':expected': current.version,
    };
    const sets = ['#version = #version + :one', 'updatedAt = :now', 'updatedBy = :by', 'updatedByName = :byName'];
    const removes: string[] = [];
    // The user as this write leaves it, built from the same steps as the expression (a transaction returns no item).
    const after: Record<string, unknown> = {
      ...current,
      version: current.version + 1,
      updatedAt: now,
      updatedBy: context.actor.userId,
      updatedByName: context.actor.username,
    };
    for (const [field, value] of Object.entries({ ...changes, requestId: context.requestId, reason: context.reason })) {
      names[`#${field}`] = field;
      if (value === undefined) {
        if (field === 'requestId' || field === 'reason' || REMOVABLE.has(field)) {
          removes.push(`#${field}`);
          delete after[field];
        } else {
          delete names[`#${field}`];
        }
        continue;
      }
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
      after[field] = value;
    }
    // The MAC is over the item as this write leaves it, in its stored shape.
    const stamp = await stamped(storedItem(after as unknown as User), current.userId, context, now);
    for (const field of ['lastChange', 'lastChangeMac'] as const) {
      names[`#${field}`] = field;
      values[`:${field}`] = stamp[field];
      sets.push(`#${field} = :${field}`);
      after[field] = stamp[field];
    }
    const update = {
      TableName: this.table,
      Key: { pk: userPk(current.userId) },
      UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    const adminDelta = Number(isEnabledLocalAdmin(after as unknown as User)) - Number(isEnabledLocalAdmin(current));
    if (adminDelta !== 0) {
      const stale = await this.transact([{ Update: update }], adminDelta > 0 ? 1 : -1);
      return stale ? undefined : (after as unknown as User);
    }
    try {
      const out = await documentDb().send(new UpdateCommand({ ...update, ReturnValues: 'ALL_NEW' }));
      return fromItem(out.Attributes) as User;
    } catch (err) {
      // A concurrent transaction on the user (an admin change) refuses a plain write too: read again, as for a stale version.
      if (err instanceof ConditionalCheckFailedException || err instanceof TransactionConflictException)
        return undefined;
      throw err;
    }
  }

  /** Users ordered by username, through the `byKind` index (no scan). */
  async list(limit: number, cursor?: string): Promise<UserPage> {
    const startKey = cursor ? decodeCursor(cursor, USER_LIST, isUserListStart) : undefined;
    const out = await queryFromCursor(startKey !== undefined, () =>
      documentDb().send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'byKind',
          KeyConditionExpression: 'kind = :user',
          ExpressionAttributeValues: { ':user': 'user' },
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    return {
      items: (out.Items ?? []).map((i) => fromItem(i)).filter((u): u is User => u !== undefined),
      ...(out.LastEvaluatedKey ? { nextCursor: encodeCursor(USER_LIST, out.LastEvaluatedKey) } : {}),
    };
  }

  /** Cheap existence probe used by first-start bootstrap. */
  async any(): Promise<boolean> {
    const page = await this.list(1);
    return page.items.length > 0;
  }
}
