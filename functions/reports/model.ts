import * as z from 'zod';
import { IsoDate, STATUSES } from '../charges/model';
import { CronError, isValidTimeZone, parseEventBridgeCron } from '../shared/reports/cron';
import { FIELD_KEYS } from './columns';

export const FORMATS = ['csv', 'xlsx', 'pdf'] as const;
export type Format = (typeof FORMATS)[number];
const Lang = z.enum(['de', 'en']);

/** A PDF list has to be built in memory by pdf-lib: above this it answers 422 EXPORT_TOO_LARGE (SPEC §7). */
export const PDF_MAX_ROWS = 20_000;

const ArticleId = z.string().min(1).max(64);

export const ChargeReportQuery = z
  .strictObject({
    status: z.enum(STATUSES).optional(),
    articleId: ArticleId.optional(),
    from: IsoDate.optional(),
    to: IsoDate.optional(),
    lang: Lang.default('de'),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });
export type ChargeReportQuery = z.infer<typeof ChargeReportQuery>;

const Instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

export const AuditReportQuery = z.strictObject({
  from: Instant.optional(),
  to: Instant.optional(),
  lang: Lang.default('de'),
});

export const ChargeReportPdfQuery = z.strictObject({ lang: Lang.default('de') });

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(2048).optional(),
});

export const RunsQuery = PageQuery.extend({ definitionId: z.uuid().optional() });

/** A relative window back from the run's time: `P7D`, `P2W`, `P1M`, `P1Y`. */
export const RelativeWindow = z.string().regex(/^P\d{1,4}[DWMY]$/, 'A date (YYYY-MM-DD) or a window like P7D');
const DateOrWindow = z.union([IsoDate, RelativeWindow]);

export const DefinitionFilters = z.strictObject({
  status: z.enum(STATUSES).optional(),
  articleId: ArticleId.optional(),
  from: DateOrWindow.optional(),
  to: DateOrWindow.optional(),
});
export type DefinitionFilters = z.infer<typeof DefinitionFilters>;

const Email = z.email().max(254);

const DefinitionFields = {
  name: z.string().trim().min(1).max(100),
  title: z.string().trim().min(1).max(200),
  kind: z.enum(['charges', 'audit']),
  filters: DefinitionFilters,
  columns: z.array(z.string().max(64)).min(1).max(30),
  format: z.enum(FORMATS),
  lang: Lang,
  /** EventBridge cron with or without `cron(…)`; null: run on demand only. */
  schedule: z.string().max(256).nullable(),
  timezone: z.string().min(1).max(64),
  recipients: z.array(Email).max(50),
};

export const NewDefinition = z.strictObject({
  ...DefinitionFields,
  filters: DefinitionFields.filters.default({}),
  columns: DefinitionFields.columns.optional(),
  lang: DefinitionFields.lang.default('de'),
  schedule: DefinitionFields.schedule.optional(),
  timezone: DefinitionFields.timezone.default('UTC'),
  recipients: DefinitionFields.recipients.default([]),
});
export type NewDefinition = z.infer<typeof NewDefinition>;

export const DefinitionPatch = z
  .strictObject({
    name: DefinitionFields.name.optional(),
    title: DefinitionFields.title.optional(),
    kind: DefinitionFields.kind.optional(),
    filters: DefinitionFields.filters.optional(),
    /** null: back to the default columns. */
    columns: DefinitionFields.columns.nullable().optional(),
    format: DefinitionFields.format.optional(),
    lang: DefinitionFields.lang.optional(),
    schedule: DefinitionFields.schedule.optional(),
    timezone: DefinitionFields.timezone.optional(),
    recipients: DefinitionFields.recipients.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'Nothing to change' });
export type DefinitionPatch = z.infer<typeof DefinitionPatch>;

/** The settings of a definition after create/merge, before the cross-field checks. */
export interface DefinitionSettings {
  name: string;
  title: string;
  kind: 'charges' | 'audit';
  filters: DefinitionFilters;
  columns?: string[] | null;
  format: Format;
  lang: 'de' | 'en';
  schedule?: string | null;
  timezone: string;
  recipients: string[];
}

export interface Issue {
  path: string;
  code: string;
  message: string;
}

/**
 * The checks that span fields (or need more than a regex): known columns for the kind, a valid
 * EventBridge cron, a known IANA zone, filters that apply to the kind, no PDF of audit data (SPEC §4
 * lists audit exports as CSV/XLSX only). Returns the normalised cron expression.
 */
export function checkDefinition(settings: DefinitionSettings): { issues: Issue[]; schedule: string | null } {
  const issues: Issue[] = [];
  const known = new Set(FIELD_KEYS[settings.kind]);
  (settings.columns ?? []).forEach((c, i) => {
    if (!known.has(c)) issues.push({ path: `body.columns.${i}`, code: 'unknown_column', message: `Unknown column "${c}" for ${settings.kind} reports; known: ${[...known].join(', ')}` });
  });
  if (settings.columns && new Set(settings.columns).size !== settings.columns.length) {
    issues.push({ path: 'body.columns', code: 'duplicate_column', message: 'A column may appear once' });
  }
  let schedule: string | null = null;
  if (settings.schedule) {
    try {
      schedule = parseEventBridgeCron(settings.schedule).expression;
    } catch (err) {
      issues.push({ path: 'body.schedule', code: 'invalid_cron', message: err instanceof CronError ? err.message : 'Invalid cron expression' });
    }
  }
  if (!isValidTimeZone(settings.timezone)) {
    issues.push({ path: 'body.timezone', code: 'invalid_timezone', message: `Unknown time zone "${settings.timezone}" (use an IANA name, e.g. Europe/Berlin)` });
  }
  if (settings.kind === 'audit') {
    if (settings.format === 'pdf') issues.push({ path: 'body.format', code: 'invalid_format', message: 'Audit reports are CSV or XLSX' });
    for (const key of ['status', 'articleId'] as const) {
      if (settings.filters[key] !== undefined) issues.push({ path: `body.filters.${key}`, code: 'invalid_filter', message: `Audit reports cannot filter by ${key}` });
    }
  }
  return { issues, schedule };
}

const DAY_MS = 86_400_000;

/** A filter bound as of `now`: a date stays, a window `P7D` becomes the date 7 days (UTC) before. */
export function resolveBound(value: string | undefined, now: Date): string | undefined {
  if (value === undefined || !value.startsWith('P')) return value;
  const n = Number(value.slice(1, -1));
  const unit = value.at(-1);
  const d = new Date(now.getTime());
  if (unit === 'D') d.setTime(d.getTime() - n * DAY_MS);
  else if (unit === 'W') d.setTime(d.getTime() - 7 * n * DAY_MS);
  else if (unit === 'M') d.setUTCMonth(d.getUTCMonth() - n);
  else d.setUTCFullYear(d.getUTCFullYear() - n);
  return d.toISOString().slice(0, 10);
}
