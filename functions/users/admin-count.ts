import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { conflict } from '#platform/errors';
import { tableName } from '#platform/tables';
import type { Role } from '#platform/permissions';
import { isEnabledLocalAdmin } from './model';

/**
 * The number of enabled local admins (`isEnabledLocalAdmin`), one more item in the users table. Every write that
 * makes a user one, or stops them being one, changes it in the same transaction as the user, and taking one away
 * is conditional on `admins > 1`: the database, not a read-then-write, refuses to leave the system without a local
 * admin. Two admins demoting each other at once both pass the authorizer, but only one transaction can take the
 * count from 2 to 1; the other's condition fails.
 *
 * No schema change: the item has no `kind`, so the byKind index (and `GET /users`) never sees it, and the audit
 * stream passes it over as it does the claim items (it records `user#` items only).
 */
export const ADMIN_COUNT_PK = 'counter#enabled-local-admins';

const NAMES = { '#admins': 'admins' };

/** The transaction item that counts a user in (`+1`, which needs the count to exist) or out (`-1`, only while another remains). */
export function adminCountChange(delta: 1 | -1) {
  return {
    Update: {
      TableName: tableName('users'),
      Key: { pk: ADMIN_COUNT_PK },
      UpdateExpression: 'SET #admins = #admins + :delta',
      ConditionExpression: delta > 0 ? 'attribute_exists(pk)' : '#admins > :one',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: delta > 0 ? { ':delta': 1 } : { ':delta': -1, ':one': 1 },
    },
  };
}

export const lastAdmin = () =>
  conflict('This would leave no enabled local administrator: make another local user admin first');

/** The stored count; undefined before its first use. */
export async function readAdminCount(): Promise<number | undefined> {
  const out = await documentDb().send(
    new GetCommand({ TableName: tableName('users'), Key: { pk: ADMIN_COUNT_PK }, ConsistentRead: true }),
  );
  return typeof out.Item?.admins === 'number' ? out.Item.admins : undefined;
}

/**
 * Creates the count, on the first change of admin membership (a table from before it, or a new one): it counts
 * the users with a consistent, paginated Scan. A Scan is acceptable here: it runs once per table, users are few
 * (a plant's staff, each with one or two claim items), and, unlike the byKind index (eventually consistent), it
 * sees every committed write. The count is exact because no membership change can commit while it is missing:
 * each one's transaction needs the item (a `+1` its existence, a `-1` its `admins > 1`). A put that finds the
 * item already created by a concurrent first change leaves that one. Should the count ever be wrong (an item edited
 * by hand), deleting it makes the next membership change count again.
 */
export async function initialiseAdminCount(): Promise<void> {
  let admins = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentDb().send(
      new ScanCommand({
        TableName: tableName('users'),
        ConsistentRead: true,
        FilterExpression: '#kind = :user',
        ProjectionExpression: '#source, disabled, #roles',
        ExpressionAttributeNames: { '#kind': 'kind', '#source': 'source', '#roles': 'roles' },
        ExpressionAttributeValues: { ':user': 'user' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const roles: Role[] = Array.isArray(item.roles) ? item.roles : [];
      if (isEnabledLocalAdmin({ source: String(item.source), disabled: item.disabled === true, roles })) admins++;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  try {
    await documentDb().send(
      new PutCommand({
        TableName: tableName('users'),
        Item: { pk: ADMIN_COUNT_PK, admins },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
}
