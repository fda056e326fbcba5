import middy from '@middy/core';
import * as z from '#platform/zod';
import { AuditStore } from '#audit/store';
import { ChargeStore } from '#charges/store';
import { emfMetrics, logger, loggerContext } from '#platform/powertools';
import { reportAdapters } from '#reports/delivery/adapters';
import type { ReportRunEvent } from '#reports/delivery/ports';
import { ReportStore } from './store';
import { publicRun, type PublicRun, ReportService } from './service';

const RunEvent = z.object({ definitionId: z.uuid() });

const reports = new ReportService({
  repo: new ReportStore(),
  charges: new ChargeStore(),
  audit: new AuditStore(),
  adapters: reportAdapters,
});

/**
 * The schedule target (EventBridge Scheduler in AWS, the in-process scheduler locally), event
 * `{definitionId}`. The run retries in-process and records its outcome; a failed run also fails the
 * invocation, so Lambda's on-failure destination (the reports DLQ) gets the event next to the
 * ReportRunFailed metric and its alarm.
 */
export const handler = middy<ReportRunEvent, PublicRun>()
  .use(loggerContext())
  .use(emfMetrics())
  .handler(async (event) => {
    const parsed = RunEvent.safeParse(event);
    if (!parsed.success) {
      logger.error('Report runner got an event it cannot use', { event });
      throw new Error('Invalid report run event: expected {definitionId}');
    }
    const run = await reports.runDefinition(parsed.data.definitionId, 'schedule', null);
    if (run.status === 'failed') throw new Error(`Report run ${run.runId} failed: ${run.error}`);
    return publicRun(run);
  });
