import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { diffFields } from '../audit/diff';
import { type CursorQuery, decodeCursor, encodeCursor, isKey, type KeyValue, queryFromCursor } from '../cursor';
import { documentDb } from '../dynamo';
import { conflict, AppError } from '../errors';
import { tableName } from '../tables';
import type { Role } from '../permissions';
import { oidcClaimPk, type User, userPk, usernameClaimPk } from './user';

export interface Actor {
  userId: string;
  username: string;
}

export interface ChangeContext {
  actor: Actor;
  requestId?: string;
  reason?: string;
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
}

export type UserChanges = Partial<
  Pick<User, 'roles' | 'disabled' | 'email' | 'displayName' | 'passwordHash' | 'tokensValidAfter' | 'tokensValidAfterExceptSession'>
>;

const nowIso = () => new Date().toISOString();

function fromItem(item: Record<string, unknown> | undefined): User | undefined {
  if (!item || item.kind !== 'user') return undefined;
  const { pk: _pk, kind: _kind, ...user } = item;
  // External users carry no stored roles (theirs come from the token).
  return { roles: [], ...user } as unknown as User;
}

/** External users are stored without roles: theirs come from the token, and only the users function writes roles. */
function storedItem(user: User): Record<string, unknown> {
  const { roles, ...rest } = user;
  return { pk: userPk(user.userId), kind: 'user', ...rest, ...(user.source.startsWith('oidc:') ? {} : { roles }) };
}

/** `GET /users` has no filters: its cursors only name the list, and start at a user in the byKind index. */
const USER_LIST: CursorQuery = { list: 'users' };
const isUserListStart = (key: unknown): key is Record<string, KeyValue> =>
  isKey(key, ['pk', 'kind', 'username']) && key.kind === 'user' && String(key.pk).startsWith('user#');

/** Attributes an `undefined` in UserChanges removes; for every other field `undefined` means "leave as is". */
const REMOVABLE: ReadonlySet<string> = new Set(['tokensValidAfterExceptSession']);

/** Attempts of read, compare and conditional write when the caller named no version (a concurrent change retries). */
const MAX_UPDATE_ATTEMPTS = 3;

const concurrentChange = () => new AppError('CONFLICT', 'The user was changed concurrently or does not exist; reload and retry');

const sameRoles = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

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

export interface UserPage {
  items: User[];
  nextCursor?: string;
}

/**
 * The users table. A username (and an OIDC issuer + subject) is made unique by a claim item written in
 * the same transaction as the user, conditional on not existing: the database, not a read-then-write,
 * refuses a duplicate.
 */
export class UserRepository {
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
    try {
      await documentDb().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: storedItem(user),
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
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) {
        throw conflict('A user with this username already exists', { field: 'username' });
      }
      throw err;
    }
    return user;
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
   * a change (SPEC §3: version +1 per change), as for charges: when every field already has the value asked for,
   * nothing is written — no new version, so no stream record and no audit record — and the user is returned as
   * it is. The comparison is made against the version the write is conditional on, so it cannot go stale.
   */
  async update(userId: string, changes: UserChanges, context: ChangeContext, expectedVersion?: number): Promise<User> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.getById(userId);
      if (!current || (expectedVersion !== undefined && current.version !== expectedVersion)) throw concurrentChange();
      const effective = effectiveChanges(current, changes);
      if (Object.keys(effective).length === 0) return current;
      const written = await this.write(userId, effective, context, current.version);
      if (written) return written;
      // Changed between our read and our write: the caller's version is stale, or (none given) compare again.
      if (expectedVersion !== undefined || attempt >= MAX_UPDATE_ATTEMPTS) throw concurrentChange();
    }
  }

  /** One conditional UpdateItem at `version`; undefined when the user is no longer at that version. */
  private async write(userId: string, changes: UserChanges, context: ChangeContext, version: number): Promise<User | undefined> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = {
      ':one': 1,
      ':now': nowIso(),
      ':by': context.actor.userId,
      ':byName': context.actor.username,
      ':expected': version,
    };
    const sets = ['#version = #version + :one', 'updatedAt = :now', 'updatedBy = :by', 'updatedByName = :byName'];
    const removes: string[] = [];
    for (const [field, value] of Object.entries({ ...changes, requestId: context.requestId, reason: context.reason })) {
      names[`#${field}`] = field;
      if (value === undefined) {
        if (field === 'requestId' || field === 'reason' || REMOVABLE.has(field)) removes.push(`#${field}`);
        else delete names[`#${field}`];
        continue;
      }
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    try {
      const out = await documentDb().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: userPk(userId) },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes) as User;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
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

export const users = new UserRepository();
