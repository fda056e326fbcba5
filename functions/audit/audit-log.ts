import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { type JsonValue, toJsonValue } from './canonical-json';
import {
  type AuditActor,
  type AuditRecord,
  computeHash,
  entityKeyOf,
  type FieldChanges,
  GENESIS_HASH,
  toAuditItem,
} from './record';
import { isSecretField, REDACTED, redact } from './redact';

export interface AuditInput {
  /** e.g. `charge`, `user`, `signing-key`. */
  entityType: string;
  entityId: string;
  /** e.g. `create`, `update`, `delete`, `login.success`, `login.failure`, `lockout`, `logout`, `password.change`. */
  action: string;
  actor: AuditActor;
  /** When it happened; default now. */
  at?: string;
  requestId?: string | null;
  /** The caller's X-Request-ID (never the request id: a caller chooses it). */
  correlationId?: string | null;
  reason?: string | null;
  version?: number | null;
  /** `{field: {from, to}}`; for a create the initial values (`from: null`). Secret fields are redacted here. */
  changes?: Record<string, { from: unknown; to: unknown }>;
  /**
   * Makes the append happen at most once: a second call with the same key is reported as a duplicate and
   * writes nothing. The stream consumer passes the stream record's `eventID`.
   */
  idempotencyKey?: string;
}

/** The last record of an entity's chain: what the next one follows. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export type AppendResult = { status: 'appended'; record: AuditRecord } | { status: 'duplicate' };

/** Losing the race for the next sequence number more often than this means something is badly wrong. */
const MAX_ATTEMPTS = 25;

/** The marker item that records "this idempotency key has been appended"; never in any index. */
export const idempotencyMarkerKey = (key: string) => `event#${key}`;

function normaliseChanges(changes: AuditInput['changes']): FieldChanges {
  const out: FieldChanges = {};
  for (const [field, change] of Object.entries(changes ?? {})) {
    if (isSecretField(field)) {
      out[field] = { from: change.from == null ? null : REDACTED, to: change.to == null ? null : REDACTED };
      continue;
    }
    out[field] = {
      from: (toJsonValue(redact(change.from)) ?? null) as JsonValue,
      to: (toJsonValue(redact(change.to)) ?? null) as JsonValue,
    };
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one writer of the audit table. Each entity has its own hash chain; an append reads the
 * chain head and puts the next record at `seq = head + 1` on the condition that this key does not exist
 * yet, so two writers for the same entity (a stream record and a security event, say) are serialised:
 * the loser re-reads the new head and tries again. Nothing is ever updated or deleted.
 */
export class AuditLog {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('audit'),
  ) {}

  async head(entityType: string, entityId: string): Promise<ChainHead | undefined> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'entityKey = :k',
        ExpressionAttributeValues: { ':k': entityKeyOf(entityType, entityId) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
        ProjectionExpression: 'seq, #h',
        ExpressionAttributeNames: { '#h': 'hash' },
      }),
    );
    const item = result.Items?.[0];
    return item ? { seq: Number(item.seq), hash: String(item.hash) } : undefined;
  }

  /**
   * `knownHead`: the entity's head as the caller last wrote it (the stream consumer appending several changes of one
   * entity in a row), which saves the head Query. A stale one only loses the conditional put, and the retry reads.
   */
  async append(input: AuditInput, knownHead?: ChainHead): Promise<AppendResult> {
    const changes = normaliseChanges(input.changes);
    const at = input.at ?? new Date().toISOString();
    for (let attempt = 1; ; attempt++) {
      const head = attempt === 1 && knownHead ? knownHead : await this.head(input.entityType, input.entityId);
      const unsigned: Omit<AuditRecord, 'hash'> = {
        auditId: randomUUID(),
        entityType: input.entityType,
        entityId: input.entityId,
        seq: (head?.seq ?? 0) + 1,
        action: input.action,
        actor: { userId: input.actor.userId, username: input.actor.username },
        at,
        requestId: input.requestId ?? null,
        ...(input.correlationId ? { correlationId: input.correlationId } : {}),
        reason: input.reason ?? null,
        version: input.version ?? null,
        changes,
        prevHash: head?.hash ?? GENESIS_HASH,
      };
      const record: AuditRecord = { ...unsigned, hash: computeHash(unsigned) };
      const outcome = await this.put(record, input.idempotencyKey);
      if (outcome !== 'lost_race')
        return outcome === 'duplicate' ? { status: 'duplicate' } : { status: 'appended', record };
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(
          `Audit append for ${entityKeyOf(input.entityType, input.entityId)} lost the race ${attempt} times`,
        );
      }
      await sleep(Math.random() * 10 * Math.min(attempt, 5));
    }
  }

  private async put(record: AuditRecord, idempotencyKey?: string): Promise<'appended' | 'duplicate' | 'lost_race'> {
    const item = toAuditItem(record);
    const recordPut = {
      TableName: this.table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(entityKey)',
    };
    if (idempotencyKey === undefined) {
      try {
        await this.db.send(new PutCommand(recordPut));
        return 'appended';
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return 'lost_race';
        throw err;
      }
    }
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: recordPut },
            {
              Put: {
                TableName: this.table,
                Item: {
                  entityKey: idempotencyMarkerKey(idempotencyKey),
                  seq: 0,
                  auditEntityKey: item.entityKey,
                  auditSeq: item.seq,
                  auditId: item.auditId,
                  at: item.at,
                },
                ConditionExpression: 'attribute_not_exists(entityKey)',
              },
            },
          ],
        }),
      );
      return 'appended';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const [recordReason, markerReason] = err.CancellationReasons ?? [];
      // The marker decides: if the key was appended before, this is a redelivery whatever else happened.
      if (markerReason?.Code === 'ConditionalCheckFailed') return 'duplicate';
      if (recordReason?.Code === 'ConditionalCheckFailed') return 'lost_race';
      throw err;
    }
  }
}

let shared: AuditLog | undefined;

/**
 * Appends one record to the audit trail: the function every producer uses (the stream consumer for
 * charges and users, the authentication code for security events).
 */
export function appendAuditRecord(input: AuditInput, knownHead?: ChainHead): Promise<AppendResult> {
  shared ??= new AuditLog();
  return shared.append(input, knownHead);
}
