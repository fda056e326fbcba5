import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { attributionKey } from '#audit/adapters';
import { type LastChange, MAC_ATTRIBUTE, stampItem } from '#audit/attribution';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import {
  SERVICE_ACCOUNT_ENTITY,
  SERVICE_ACCOUNT_KIND,
  SERVICE_ACCOUNT_UNSIGNED_FIELDS,
  type ServiceAccount,
  serviceAccountPk,
} from './model';

/** A change that lost the race to another one is read again and tried on the newer item this often. */
const MAX_ATTEMPTS = 5;

/**
 * Service accounts in the users table: `pk = service-account#<id>`, `kind = service-account`. The `username`
 * attribute (the account's name) puts a live account in the byKind index for `GET /service-accounts`; a deleted
 * one loses it and its secret hash, and keeps the rest as a record. No DeleteItem: nothing is removed. Every write
 * is stamped with `lastChange` and the attribution MAC: the audit trail records it from the users table's stream.
 */
export class ServiceAccountStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('users'),
  ) {}

  /** Puts a new account, stamped with `change` and the attribution MAC (the audit trail reads it from the stream). */
  async create(account: ServiceAccount, change: LastChange): Promise<void> {
    const item = await stamped({
      pk: serviceAccountPk(account.serviceAccountId),
      kind: SERVICE_ACCOUNT_KIND,
      username: account.name,
      ...account,
      lastChange: change,
    });
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
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
    change: LastChange,
  ): Promise<ServiceAccount | undefined> {
    return this.change(id, change, (item) => ({
      ...item,
      secretHash: secret.secretHash,
      credentialId: secret.credentialId,
      secretRotatedAt: secret.at,
    }));
  }

  /** Ends a live account: no secret, no credential (so no token), out of the list. */
  async delete(id: string, at: string, change: LastChange): Promise<ServiceAccount | undefined> {
    return this.change(id, change, (item) => {
      const { secretHash: _h, credentialId: _c, username: _u, ...rest } = item;
      return { ...rest, deletedAt: at };
    });
  }

  /**
   * Replaces a live account's item by `next(item)` at the next version, stamped with `change`: a whole-item put
   * (the MAC covers the whole item), conditional on the version read, so a concurrent change is read again.
   */
  private async change(
    id: string,
    change: LastChange,
    next: (item: Record<string, unknown>) => Record<string, unknown>,
  ): Promise<ServiceAccount | undefined> {
    for (let attempt = 1; ; attempt++) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.table, Key: { pk: serviceAccountPk(id) }, ConsistentRead: true }),
      );
      if (!Item || Item.kind !== SERVICE_ACCOUNT_KIND || Item.deletedAt !== undefined) return undefined;
      const { [MAC_ATTRIBUTE]: _mac, ...current } = Item;
      const item = await stamped({
        ...next(current),
        version: (current.version as number) + 1,
        lastChange: change,
      });
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: item,
            ConditionExpression: '#v = :v AND attribute_not_exists(deletedAt)',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': current.version },
          }),
        );
        return fromItem(item);
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException) || attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }
}

/** The item with its attribution MAC over every attribute but the storage keys. */
function stamped<T extends Record<string, unknown>>(item: T) {
  return stampItem(
    attributionKey(),
    SERVICE_ACCOUNT_ENTITY,
    String(item.serviceAccountId),
    item,
    SERVICE_ACCOUNT_UNSIGNED_FIELDS,
  );
}

function fromItem(item: Record<string, unknown> | undefined): ServiceAccount | undefined {
  if (!item || item.kind !== SERVICE_ACCOUNT_KIND) return undefined;
  const { pk: _pk, kind: _kind, username: _username, lastChange: _l, [MAC_ATTRIBUTE]: _m, ...account } = item;
  return account as unknown as ServiceAccount;
}
