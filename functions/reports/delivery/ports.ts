/**
 * The ports of the report feature: object storage for report files, mail for delivery and the
 * scheduler that fires report definitions. Each has an AWS adapter and a local one (adapters.ts picks).
 */
export interface StoredObject {
  key: string;
  bytes: number;
}

export interface ObjectStore {
  /** Stores the file at `path` (streamed, never read whole into memory) under `key`. */
  putFile(key: string, path: string, contentType: string): Promise<StoredObject>;
  /** A short-lived GET link to the object, downloading as `filename`. */
  downloadUrl(key: string, filename: string, expiresInSeconds?: number): Promise<string>;
}

export interface MailMessage {
  to: readonly string[];
  /** One line: the domain one-lines it (`oneLine`), so every adapter (SES, the local outbox) sends the same subject. */
  subject: string;
  /** Plain text body (UTF-8). */
  text: string;
}

/**
 * Text that goes into one line of a mail (the subject, a title in the body): line breaks and other control
 * characters become a space, so text from a report definition cannot inject headers or lines.
 */
export const oneLine = (text: string) => text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** One report definition's schedule: EventBridge Scheduler's 6-field cron, in an IANA time zone. */
export interface ScheduleSpec {
  /** Schedule name, unique in the group: `report-<definitionId>`. */
  name: string;
  /** The 6 fields without the `cron(…)` wrapper, e.g. `0 6 ? * MON *`. */
  cron: string;
  timezone: string;
  /** What the runner receives when the schedule fires. */
  event: ReportRunEvent;
}

/** The runner's event: the same shape from EventBridge Scheduler, the local scheduler and "run now". */
export interface ReportRunEvent {
  definitionId: string;
}

export interface Scheduler {
  /** Creates the schedule or replaces an existing one of that name. */
  upsert(spec: ScheduleSpec): Promise<void>;
  /** Removes the schedule; no error if it does not exist. */
  remove(name: string): Promise<void>;
}

/** Default lifetime of a download link: short-lived, five minutes. */
export const DOWNLOAD_LINK_SECONDS = 300;

export const scheduleNameFor = (definitionId: string) => `report-${definitionId}`;
