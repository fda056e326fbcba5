import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { appendAuditRecord } from './audit-log';
import { entityKeyOf } from './record';
import { auditLag } from '#platform/observability/counters';
import { emfMetrics, logger, loggerContext, metrics } from '#platform/powertools';
import { streamChanges } from './stream-changes';
import { attributionKey } from './adapters';
import { AUDITED_ENTITIES } from './audited-entities';
import { type ReplayResult, replayFailuresFrom } from './replay';
import { streamFailures } from './replay-adapters';

// The audited tables, as their owners describe them.
const { entityKeyHint, toAuditInput } = streamChanges(AUDITED_ENTITIES, attributionKey);

/**
 * One audit record per change of an audited item (charge, user, report definition). Records are processed one after another
 * in stream order; once a record of an entity fails, the later records of that entity in the batch fail
 * too, so the entity's chain is never written out of order. Failures are reported as batch item failures:
 * Lambda retries from the first one (bisecting), and after the retries the on-failure queue gets the
 * record's position. Redeliveries are harmless: the stream record's eventID makes each append happen once.
 */
async function lambdaHandler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  const failedEntities = new Set<string>();
  const recordHandler = async (record: DynamoDBRecord) => {
    // Known before parsing, so that even an unreadable record holds back the later records of its entity.
    let entityKey = entityKeyHint(record);
    try {
      const input = await toAuditInput(record);
      if (!input) return 'ignored';
      entityKey = entityKeyOf(input.entityType, input.entityId);
      if (failedEntities.has(entityKey)) {
        throw new Error(`An earlier record of ${entityKey} failed in this batch; retried in order`);
      }
      const result = await appendAuditRecord(input);
      if (result.status === 'duplicate') {
        metrics.addMetric('AuditRecordDuplicates', MetricUnit.Count, 1);
      } else {
        metrics.addMetric('AuditRecordsWritten', MetricUnit.Count, 1);
        const writtenAt = changeTime(record, input.at);
        if (writtenAt !== undefined) {
          const lagMs = Math.max(0, Date.now() - writtenAt);
          metrics.addMetric('AuditLag', MetricUnit.Milliseconds, lagMs);
          auditLag.observe(lagMs / 1000);
        }
      }
      return result.status;
    } catch (err) {
      if (entityKey) failedEntities.add(entityKey);
      logger.error('Audit record failed; reported as a batch item failure', {
        eventID: record.eventID,
        sequenceNumber: record.dynamodb?.SequenceNumber,
        entityKey,
        error: err as Error,
      });
      metrics.addMetric('AuditRecordFailures', MetricUnit.Count, 1);
      throw err;
    }
  };
  // One processor per invocation: Powertools Batch 2.35 keeps its state in the Lambda per-invocation store
  // when invocations run concurrently (Managed Instances, the local runtime), and a module-scope one would
  // write that state outside any invocation, which fails.
  return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.DynamoDBStreams), {
    context,
    processInParallel: false,
    // Always answer with a batch response, even when every record failed: Lambda then retries from the first.
    throwOnFullBatchFailure: false,
  });
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

async function dispatch(
  event: DynamoDBStreamEvent | ReplayRequest,
  context: Context,
): Promise<DynamoDBBatchResponse | ReplayResult> {
  if (!isReplayRequest(event)) return lambdaHandler(event, context);
  const result = await replayFailuresFrom(streamFailures(), (batch) => lambdaHandler(batch, context));
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
