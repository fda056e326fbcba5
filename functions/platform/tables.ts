import { config } from './config';

/**
 * The tables, described once. The CDK data stack (lib/data-stack.ts) and the local
 * runtime (local/tables.ts) both build their tables from these definitions, so DynamoDB Local
 * has exactly the keys, indexes, streams and TTL that AWS has.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Logical name: the local table name (after TABLE_PREFIX) and the CDK construct id. */
  readonly name: string;
  /** Environment variable through which a function learns the deployed table's name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Global secondary indexes; every one projects ALL attributes. */
  readonly indexes: readonly IndexDefinition[];
  readonly stream?: 'NEW_AND_OLD_IMAGES';
  /** Epoch-seconds attribute DynamoDB's TTL deletes by. DynamoDB deletes late, so readers check it too. */
  readonly ttlAttribute?: string;
}

const S = (name: string): KeyAttribute => ({ name, type: 'S' });
const N = (name: string): KeyAttribute => ({ name, type: 'N' });

export const TABLES = {
  /**
   * One item per charge (`sk = "CHARGE"`) plus one immutable snapshot per version (`sk = "V#0000000001"`),
   * written in the same transaction. Only live charge items carry `listPk`/`listSk`, so the list
   * indexes are sparse: version snapshots and soft-deleted charges never appear in a list.
   */
  charges: {
    name: 'charges',
    envVar: 'CHARGES_TABLE_NAME',
    partitionKey: S('chargeId'),
    sortKey: S('sk'),
    indexes: [
      { indexName: 'byProductionDate', partitionKey: S('listPk'), sortKey: S('listSk') },
      { indexName: 'byStatus', partitionKey: S('status'), sortKey: S('listSk') },
      { indexName: 'byArticle', partitionKey: S('articleId'), sortKey: S('listSk') },
    ],
    stream: 'NEW_AND_OLD_IMAGES',
  },
  /**
   * Users (`pk = "user#<id>"`) and the claims that make usernames and OIDC identities unique
   * (`pk = "username#<name>"`, `pk = "oidc#<issuer>#<sub>"`), created in one transaction with the user.
   */
  users: {
    name: 'users',
    envVar: 'USERS_TABLE_NAME',
    partitionKey: S('pk'),
    indexes: [{ indexName: 'byKind', partitionKey: S('kind'), sortKey: S('username') }],
    stream: 'NEW_AND_OLD_IMAGES',
  },
  /**
   * Append-only audit records. The key (entity, per-entity sequence number) serialises each entity's
   * hash chain: an append is a put conditional on the next sequence number being free.
   */
  audit: {
    name: 'audit',
    envVar: 'AUDIT_TABLE_NAME',
    partitionKey: S('entityKey'),
    sortKey: N('seq'),
    indexes: [
      { indexName: 'byActor', partitionKey: S('actorId'), sortKey: S('atId') },
      { indexName: 'byMonth', partitionKey: S('month'), sortKey: S('atId') },
    ],
  },
  /**
   * Revocations, refresh-token families, rate-limit and lockout counters; everything expires. Only family items
   * carry `sessionOf` (their user) and `sessionStartedAt`, so `byUser` is sparse: a user's sessions, oldest first.
   */
  'auth-state': {
    name: 'auth-state',
    envVar: 'AUTH_STATE_TABLE_NAME',
    partitionKey: S('pk'),
    indexes: [{ indexName: 'byUser', partitionKey: S('sessionOf'), sortKey: N('sessionStartedAt') }],
    ttlAttribute: 'expiresAt',
  },
  /** Report definitions and runs; definition changes reach the audit trail through the stream. */
  reports: {
    name: 'reports',
    envVar: 'REPORTS_TABLE_NAME',
    partitionKey: S('pk'),
    sortKey: S('sk'),
    indexes: [{ indexName: 'byKind', partitionKey: S('kind'), sortKey: S('createdAtId') }],
    stream: 'NEW_AND_OLD_IMAGES',
  },
  /**
   * Aggregates kept from the charges stream (functions/analytics/aggregates.ts has the item layout: per-month
   * partitions whose sort key starts with the date, so a date range is one Query per month) and the stream records
   * already applied (expiring markers). Derived data, rebuilt from the charges table at will: no stream, no audit.
   */
  analytics: {
    name: 'analytics',
    envVar: 'ANALYTICS_TABLE_NAME',
    partitionKey: S('pk'),
    sortKey: S('sk'),
    indexes: [],
    ttlAttribute: 'expiresAt',
  },
  /**
   * Dashboards (functions/analytics/dashboard-item.ts: one partition, there are few and a list reads them all) and
   * the seed marker of the shipped one; their changes reach the audit trail through the stream.
   */
  dashboards: {
    name: 'dashboards',
    envVar: 'DASHBOARDS_TABLE_NAME',
    partitionKey: S('pk'),
    sortKey: S('sk'),
    indexes: [],
    stream: 'NEW_AND_OLD_IMAGES',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableId = keyof typeof TABLES;
export const TABLE_IDS = Object.keys(TABLES) as TableId[];
/** The tables with a stream: each one feeds the audit trail (functions/audit/audited-entities.ts). */
export const AUDITED_TABLE_IDS = TABLE_IDS.filter((id) => (TABLES[id] as TableDefinition).stream !== undefined);

/** The physical table name: the CDK-provided env var in AWS, `${TABLE_PREFIX}${name}` locally. */
export function tableName(id: TableId): string {
  const table = TABLES[id];
  return process.env[table.envVar] ?? `${config().TABLE_PREFIX}${table.name}`;
}
