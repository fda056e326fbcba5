import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { emfMetrics, logger, loggerContext, metrics } from '#platform/powertools';
import { asError } from '#platform/errors';
import { changeDelta, type ChargeImage, decisionOf } from './aggregates';
import { AnalyticsStore, type PendingChange } from './store';

const store = new AnalyticsStore();

const image = (raw: unknown) =>
  raw === undefined ? undefined : (unmarshall(raw as Record<string, AttributeValue>) as ChargeImage);

interface Parsed extends PendingChange {
  record: DynamoDBRecord;
  before?: ChargeImage;
  after?: ChargeImage;
}

/** A stream record as a change of the aggregates; throws for a record that makes no sense (a batch item failure). */
export function toChange(record: DynamoDBRecord): Parsed {
  const eventId = record.eventID;
  if (!eventId) throw new Error('Stream record without eventID');
  const before = image(record.dynamodb?.OldImage);
  const after = image(record.dynamodb?.NewImage);
  if (record.eventName === 'MODIFY' && (!before || !after)) throw new Error('MODIFY without both images');
  return { eventId, record, before, after, delta: changeDelta(before, after) };
}

/** When the change was committed: the item's own `updatedAt`, else the stream's (whole-second) time. */
function changeTime(p: Parsed): number | undefined {
  const at = typeof p.after?.updatedAt === 'string' ? Date.parse(p.after.updatedAt) : Number.NaN;
  if (Number.isFinite(at)) return at;
  const approximate = p.record.dynamodb?.ApproximateCreationDateTime;
  return typeof approximate === 'number' ? approximate * 1000 : undefined;
}

/**
 * Keeps the analytics aggregates from the charges stream. Each record's change (its item's old buckets −, new
 * buckets +, a QA decision counted on its day) is applied exactly once: with a marker keyed by the record's eventID
 * in the same transaction, so a redelivered record changes nothing. Deltas add up in any order, so records are
 * packed into as few transactions as fit, and a failure reports the records it held as batch item failures: Lambda
 * retries from the first (bisecting), the markers skip what was applied, and after the retries the on-failure queue
 * gets the record's position.
 */
async function lambdaHandler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const failures: string[] = [];
  const parsed: Parsed[] = [];
  for (const record of event.Records) {
    try {
      parsed.push(toChange(record));
    } catch (err) {
      logger.error('Analytics stream record cannot be read; reported as a batch item failure', {
        eventID: record.eventID,
        sequenceNumber: record.dynamodb?.SequenceNumber,
        error: asError(err),
      });
      failures.push(record.dynamodb?.SequenceNumber ?? '');
    }
  }
  const changes = parsed.filter((p) => p.delta.length > 0);
  for (const p of changes) p.changedAt = changeTime(p);
  try {
    const result = await store.apply(changes, new Date());
    const applied = new Set(result.applied);
    if (result.duplicates.length > 0) {
      metrics.addMetric('AnalyticsRecordDuplicates', MetricUnit.Count, result.duplicates.length);
    }
    if (applied.size > 0) metrics.addMetric('AnalyticsRecordsApplied', MetricUnit.Count, applied.size);
    const now = Date.now();
    for (const p of changes) {
      if (!applied.has(p.eventId)) continue;
      if (p.changedAt !== undefined) {
        metrics.addMetric('AnalyticsLag', MetricUnit.Milliseconds, Math.max(0, now - p.changedAt));
      }
      // The business numbers for the operations dashboard, once per decision (never for a redelivery).
      const decision = decisionOf(p.before, p.after);
      if (!decision) continue;
      const name = { released: 'ChargesReleased', rejected: 'ChargesRejected', blocked: 'ChargesBlocked' } as const;
      metrics.addMetric(name[decision.status], MetricUnit.Count, 1);
      if (decision.leadTimeDays !== undefined) {
        metrics.addMetric('QuarantineLeadTimeDays', MetricUnit.Count, decision.leadTimeDays);
      }
    }
  } catch (err) {
    logger.error('Analytics aggregates could not be updated; the batch is reported for retry', {
      records: changes.length,
      error: asError(err),
    });
    metrics.addMetric('AnalyticsRecordFailures', MetricUnit.Count, changes.length);
    failures.push(...changes.map((p) => p.record.dynamodb?.SequenceNumber ?? ''));
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = middy(lambdaHandler).use(loggerContext()).use(emfMetrics());
