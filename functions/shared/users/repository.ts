import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor, isStringKey } from '../cursor';
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

const USER_CURSOR_KEYS: ReadonlySet<string> = new Set(['pk', 'kind', 'username']);

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

  /** Applies changes if the user is still at `expectedVersion` (optimistic concurrency); version + 1. */
  async update(userId: string, changes: UserChanges, context: ChangeContext, expectedVersion?: number): Promise<User> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':one': 1,
      ':now': nowIso(),
      ':by': context.actor.userId,
      ':byName': context.actor.username,
    };
    const sets = ['#version = #version + :one', 'updatedAt = :now', 'updatedBy = :by', 'updatedByName = :byName'];
    const removes: string[] = [];
    names['#version'] = 'version';
    for (const [field, value] of Object.entries({ ...changes, requestId: context.requestId, reason: context.reason })) {
      names[`#${field}`] = field;
      if (value === undefined) {
        if (field === 'requestId' || field === 'reason' || field === 'tokensValidAfterExceptSession') removes.push(`#${field}`);
        else delete names[`#${field}`];
        continue;
      }
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    let condition = 'attribute_exists(pk)';
    if (expectedVersion !== undefined) {
      condition += ' AND #version = :expected';
      values[':expected'] = expectedVersion;
    }
    try {
      const out = await documentDb().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: userPk(userId) },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes) as User;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        throw new AppError('CONFLICT', 'The user was changed concurrently or does not exist; reload and retry');
      }
      throw err;
    }
  }

  /** Users ordered by username, through the `byKind` index (no scan). */
  async list(limit: number, cursor?: string): Promise<UserPage> {
    const startKey = cursor ? decodeCursor(cursor, (v): v is Record<string, string> => isStringKey(v, USER_CURSOR_KEYS)) : undefined;
    const out = await documentDb().send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byKind',
        KeyConditionExpression: 'kind = :user',
        ExpressionAttributeValues: { ':user': 'user' },
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: (out.Items ?? []).map((i) => fromItem(i)).filter((u): u is User => u !== undefined),
      ...(out.LastEvaluatedKey
        ? { nextCursor: encodeCursor(out.LastEvaluatedKey) }
        : {}),
    };
  }

  /** Cheap existence probe used by first-start bootstrap. */
  async any(): Promise<boolean> {
    const page = await this.list(1);
    return page.items.length > 0;
  }
}

export const users = new UserRepository();
