import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { resetConfig } from '#platform/config';
import { reportAdapters, resetReportAdapters } from '#reports/delivery/adapters';
import { LocalObjectStore } from '#local/adapters/local-object-store';
import { localScheduler } from '#local/adapters/local-scheduler';
import { contentDisposition } from '#reports/delivery/s3-object-store';
import { scheduleNameFor } from '#reports/delivery/ports';
import { invoke } from './handlers';
import { SECURITY_HEADERS } from '#platform/http/headers';

/**
 * The local stand-ins of the report feature's AWS parts that live outside the handlers: the scheduler
 * (EventBridge Scheduler → runner) and the file links (S3 pre-signed URLs).
 */

/** Loads every definition's schedule into the in-process scheduler and lets them fire the runner handler. */
export async function startLocalReportScheduler(baseUrl: string, log: (line: string) => void): Promise<() => void> {
  // The links in mails and redirects point at this server; the state dir may have changed since config was read.
  process.env.PUBLIC_BASE_URL = baseUrl;
  resetConfig();
  resetReportAdapters();
  const { ReportStore } = await import('#reports/store');
  const scheduler = localScheduler();
  const definitions = await new ReportStore().allDefinitions();
  for (const def of definitions) {
    if (!def.schedule) continue;
    await scheduler.upsert({
      name: scheduleNameFor(def.definitionId),
      cron: def.schedule,
      timezone: def.timezone,
      event: { definitionId: def.definitionId },
    });
  }
  scheduler.start((event) => invoke('report-runner', event));
  const scheduled = scheduler.names().length;
  if (scheduled > 0) log(`Report scheduler: ${scheduled} schedule(s) loaded`);
  return () => scheduler.stop();
}

/** Serves a local "pre-signed" link: 403 when forged or expired, as S3 would answer. */
export async function serveLocalFile(url: URL, res: ServerResponse): Promise<void> {
  const objects = reportAdapters().objects;
  const file = objects instanceof LocalObjectStore ? await objects.resolveLink(url) : undefined;
  if (!file) {
    res.writeHead(403, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Request has expired or the signature does not match');
    return;
  }
  const { size } = await stat(file.path);
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': file.contentType,
    'Content-Length': String(size),
    'Content-Disposition': contentDisposition(file.filename),
    'Cache-Control': 'no-store',
  });
  createReadStream(file.path).pipe(res);
}
