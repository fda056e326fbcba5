import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { SERVICE_ACCOUNT_KIND, type ServiceAccount, serviceAccountPk } from './model';

/**
 * Service accounts in the users table: `pk = service-account#<id>`, `kind = service-account`. The `username`
 * attribute (the account's name) puts a live account in the byKind index for `GET /service-accounts`; a deleted
 * one loses it and its secret hash, and keeps the rest as a record. No DeleteItem: nothing is removed.
 */
export class ServiceAccountStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('users'),
  ) {}

  async create(account: ServiceAccount): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: serviceAccountPk(account.serviceAccountId),
          kind: SERVICE_ACCOUNT_KIND,
          username: account.name,
          ...account,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string, consistent = true): Promise<ServiceAccount | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: serviceAccountPk(id) }, ConsistentRead: consistent }),
    );
    return fromItem(out.Item);
  }

  /** Live accounts, by name (the byKind index; eventually consistent like any index). */
  async list(): Promise<ServiceAccount[]> {
    const accounts: ServiceAccount[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'byKind',
          KeyConditionExpression: 'kind = :kind',
          ExpressionAttributeValues: { ':kind': SERVICE_ACCOUNT_KIND },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const account = fromItem(item);
        if (account && !account.deletedAt) accounts.push(account);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return accounts;
  }

  /** A new secret for a live account; undefined when there is none (missing or deleted). */
  async rotate(
    id: string,
    secret: { secretHash: string; credentialId: string; at: string },
  ): Promise<ServiceAccount | undefined> {
    return this.update(id, 'SET secretHash = :h, credentialId = :c, secretRotatedAt = :at, version = version + :one', {
      ':h': secret.secretHash,
      ':c': secret.credentialId,
      ':at': secret.at,
    });
  }

  /** Ends a live account: no secret, no credential (so no token), out of the list. */
  async delete(id: string, at: string): Promise<ServiceAccount | undefined> {
    return this.update(id, 'SET deletedAt = :at, version = version + :one REMOVE secretHash, credentialId, username', {
      ':at': at,
    });
  }

  private async update(
    id: string,
    expression: string,
    values: Record<string, unknown>,
  ): Promise<ServiceAccount | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: serviceAccountPk(id) },
          UpdateExpression: expression,
          ConditionExpression: 'kind = :kind AND attribute_not_exists(deletedAt)',
          ExpressionAttributeValues: { ...values, ':kind': SERVICE_ACCOUNT_KIND, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }
}

function fromItem(item: Record<string, unknown> | undefined): ServiceAccount | undefined {
  if (!item || item.kind !== SERVICE_ACCOUNT_KIND) return undefined;
  const { pk: _pk, kind: _kind, username: _username, ...account } = item;
  return account as unknown as ServiceAccount;
}
