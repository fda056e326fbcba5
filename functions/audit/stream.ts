import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { appendAuditRecord, type ChainHead } from './audit-log';
import { entityKeyOf, GENESIS_HASH } from './record';
import { forEachConcurrently } from '#platform/concurrency';
import { auditLag } from '#platform/observability/counters';
import { emfMetrics, logger, loggerContext, metrics } from '#platform/powertools';
import { streamChanges } from './stream-changes';
import { attributionKey } from './adapters';
import { AUDITED_ENTITIES } from './audited-entities';
import { AUDIT_STREAM_SETTINGS } from './stream-settings';
import { type ReplayResult, replayFailuresFrom } from './replay';
import { streamFailures } from './replay-adapters';

// The audited tables, as their owners describe them.
const { entityKeyHint, toAuditInput } = streamChanges(AUDITED_ENTITIES, attributionKey);
/** The head before an entity's first record. */
const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

/**
 * One audit record per change of an audited item (charge, user, report definition). The records of one entity are
 * processed one after another in stream order, and once one fails, the later records of that entity in the batch
 * fail too, so the entity's chain is never written out of order; different entities are independent chains and are
 * written side by side (`handlerConcurrency` at once), each a few round trips. Failures are reported as batch item
 * failures: Lambda retries from the first one (bisecting), and after the retries the on-failure queue gets the
 * record's position. Redeliveries are harmless: the stream record's eventID makes each append happen once.
 */
async function lambdaHandler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const records = event.Records ?? [];
  // By entity, in stream order. A record whose entity cannot even be guessed is a chain of its own.
  const chains = new Map<string, number[]>();
  records.forEach((record, index) => {
    const key = entityKeyHint(record) ?? `#${index}`;
    const chain = chains.get(key);
    if (chain) chain.push(index);
    else chains.set(key, [index]);
  });
  const failed = new Set<number>();

  const processChain = async (indexes: number[]) => {
    let failedBefore = false;
    // The head this chain's last append left: the next change of the same entity needs no head Query.
    let head: ChainHead | undefined;
    for (const index of indexes) {
      const record = records[index] as DynamoDBRecord;
      // Known before parsing, so that even an unreadable record holds back the later records of its entity.
      let entityKey = entityKeyHint(record);
      try {
        const input = await toAuditInput(record);
        if (!input) continue;
        entityKey = entityKeyOf(input.entityType, input.entityId);
        if (failedBefore) {
          throw new Error(`An earlier record of ${entityKey} failed in this batch; retried in order`);
        }
        // A create starts its entity's chain: tried at seq 1 without reading the head (an entity that already has a
        // chain only loses the conditional put, and the retry reads it).
        const result = await appendAuditRecord(
          input,
          head ?? (record.eventName === 'INSERT' ? EMPTY_CHAIN : undefined),
        );
        if (result.status === 'duplicate') {
          head = undefined;
          metrics.addMetric('AuditRecordDuplicates', MetricUnit.Count, 1);
          continue;
        }
        head = { seq: result.record.seq, hash: result.record.hash };
        metrics.addMetric('AuditRecordsWritten', MetricUnit.Count, 1);
        const writtenAt = changeTime(record, input.at);
        if (writtenAt !== undefined) {
          const lagMs = Math.max(0, Date.now() - writtenAt);
          metrics.addMetric('AuditLag', MetricUnit.Milliseconds, lagMs);
          auditLag.observe(lagMs / 1000);
        }
      } catch (err) {
        failedBefore = true;
        failed.add(index);
        logger.error('Audit record failed; reported as a batch item failure', {
          eventID: record.eventID,
          sequenceNumber: record.dynamodb?.SequenceNumber,
          entityKey,
          error: err as Error,
        });
        metrics.addMetric('AuditRecordFailures', MetricUnit.Count, 1);
      }
    }
  };

  await forEachConcurrently([...chains.values()], AUDIT_STREAM_SETTINGS.handlerConcurrency, processChain);
  // In stream order: Lambda retries from the first.
  return {
    batchItemFailures: [...failed]
      .sort((a, b) => a - b)
      .map((index) => ({ itemIdentifier: records[index]?.dynamodb?.SequenceNumber ?? '' })),
  };
}

/**
 * `npm run audit:replay`: invoked with this instead of a stream batch, the function re-drives the on-failure
 * queue through the same handler. It runs here because only this function may verify attribution MACs and append.
 */
export interface ReplayRequest {
  replay: 'on-failure-queue';
}

const isReplayRequest = (event: unknown): event is ReplayRequest =>
  typeof event === 'object' && event !== null && (event as Partial<ReplayRequest>).replay === 'on-failure-queue';

async function dispatch(event: DynamoDBStreamEvent | ReplayRequest): Promise<DynamoDBBatchResponse | ReplayResult> {
  if (!isReplayRequest(event)) return lambdaHandler(event);
  const result = await replayFailuresFrom(streamFailures(), (batch) => lambdaHandler(batch));
  logger.info('On-failure queue re-driven', { ...result });
  return result;
}

export const handler = middy(dispatch).use(loggerContext()).use(emfMetrics());

/**
 * When the change was committed, as precisely as known: the item's own `updatedAt` (milliseconds, set by the
 * write), else the stream's ApproximateCreationDateTime — whole seconds in AWS, and rounded down to the MINUTE
 * by DynamoDB Local, which made the local lag read up to 60 s too high.
 */
function changeTime(record: DynamoDBRecord, at: string | undefined): number | undefined {
  const precise = at === undefined ? Number.NaN : Date.parse(at);
  if (record.eventName !== 'REMOVE' && Number.isFinite(precise)) return precise;
  const approximate = record.dynamodb?.ApproximateCreationDateTime;
  return typeof approximate === 'number' ? approximate * 1000 : undefined;
}
