import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { config } from '#platform/config';
import { EventBridgeScheduler } from './eventbridge-scheduler';
import type { Mailer, ObjectStore, Scheduler } from './ports';
import { S3ObjectStore } from './s3-object-store';
import { SesMailer } from './ses-mailer';
import { adapterSet } from '#platform/adapters';

/**
 * The report module's ports, as one set: S3, SES and EventBridge Scheduler in AWS (each configured by the
 * variables CDK sets: REPORTS_BUCKET; REPORTS_SES_ENABLED; REPORTS_SCHEDULE_GROUP with the runner and role
 * ARNs). Lambda code builds this set; the local runtime installs its own with `useReportAdapters`.
 */
export interface ReportAdapters {
  kind: 'aws' | 'local';
  objects: ObjectStore;
  mailer: Mailer;
  scheduler: Scheduler;
}

/** The base URL of the API, for links in e-mails and local download links. */
export function publicBaseUrl(): string {
  const cfg = config();
  return (cfg.PUBLIC_BASE_URL ?? `http://127.0.0.1:${cfg.PORT}`).replace(/\/$/, '');
}

const refuse = async () => {
  throw new Error(
    'This function manages no schedules: REPORTS_SCHEDULE_GROUP, REPORT_RUNNER_ARN and REPORTS_SCHEDULER_ROLE_ARN are not set',
  );
};
const notConfigured: Scheduler = { upsert: refuse, remove: refuse };

export function awsReportAdapters(): ReportAdapters {
  const cfg = config();
  if (!cfg.REPORTS_BUCKET) throw new Error('REPORTS_BUCKET is not set: this function has no report storage');
  // Only the reports function manages schedules (and only it gets these variables and the IAM grants).
  const scheduler: Scheduler =
    cfg.REPORTS_SCHEDULE_GROUP && cfg.REPORT_RUNNER_ARN && cfg.REPORTS_SCHEDULER_ROLE_ARN
      ? new EventBridgeScheduler(new SchedulerClient({ region: cfg.AWS_REGION }), {
          group: cfg.REPORTS_SCHEDULE_GROUP,
          runnerArn: cfg.REPORT_RUNNER_ARN,
          roleArn: cfg.REPORTS_SCHEDULER_ROLE_ARN,
          deadLetterArn: cfg.REPORTS_SCHEDULER_DLQ_ARN,
        })
      : notConfigured;
  return {
    kind: 'aws',
    objects: new S3ObjectStore(new S3Client({ region: cfg.AWS_REGION }), cfg.REPORTS_BUCKET, cfg.REPORTS_KMS_KEY_ID),
    mailer: new SesMailer(new SESv2Client({ region: cfg.AWS_REGION }), cfg.REPORTS_SENDER),
    scheduler,
  };
}

const adapters = adapterSet(awsReportAdapters);

/** The process-wide adapters. */
export const reportAdapters = adapters.get;
/** Installs another set (the local runtime, tests). */
export const useReportAdapters = adapters.use;
/** Rebuilds the adapters on next use (tests switch the environment between cases). */
export const resetReportAdapters = adapters.reset;
