import * as z from '#platform/zod';
import {
  hasNoFormatCharacter,
  isWellFormed,
  NO_FORMAT_CHARACTER_MESSAGE,
  WELL_FORMED_MESSAGE,
} from '#platform/well-formed';
import { AUDIT_FILTER_FIELDS, AuditActor, ENTITY_ID_NEEDS_TYPE, instantsInOrder } from '#audit/model';
import { ArticleId, IsoDate, STATUSES } from '#charges/model';
import { PageQuery, RANGE_IN_ORDER } from '#platform/http/query-schemas';
import { page } from '#platform/http/response-schemas';
import { CronError, firesMoreThanHourly, isValidTimeZone, parseEventBridgeCron } from '#reports/delivery/cron';
import { FIELD_KEYS } from './columns';

export const FORMATS = ['csv', 'xlsx', 'pdf'] as const;
export type Format = (typeof FORMATS)[number];
const Lang = z.enum(['de', 'en']);

/** A PDF list has to be built in memory by pdf-lib: above this it answers 422 EXPORT_TOO_LARGE. */
export const PDF_MAX_ROWS = 20_000;

/** An IANA time zone the report prints its times in. */
export const TimeZoneParam = z
  .string()
  .check(
    z.maxLength(64),
    z.refine(isValidTimeZone, 'An IANA time zone name, e.g. Europe/Berlin'),
    z.describe('IANA time zone the PDF and XLSX print times in (default UTC)'),
  );

/** `columns=a,b,c`: which fields, in which order (as a definition's `columns`); each must be a field of the kind. */
const ColumnsParam = (kind: keyof typeof FIELD_KEYS) =>
  z
    .pipe(
      z.string().check(z.maxLength(1000)),
      z.transform((v: string) => v.split(',').map((c) => c.trim())),
    )
    .check(
      z.superRefine((cols, ctx) => {
        const known = new Set(FIELD_KEYS[kind]);
        const unknown = cols.filter((c) => !known.has(c));
        if (unknown.length > 0) {
          ctx.addIssue({
            code: 'custom',
            message: `Unknown column ${unknown.join(', ')}; known: ${[...known].join(' ')}`,
          });
        }
        if (new Set(cols).size !== cols.length) ctx.addIssue({ code: 'custom', message: 'A column is named twice' });
      }),
      z.describe(`Comma-separated fields in order: ${FIELD_KEYS[kind].join(',')}`),
    );

export const ChargeReportQuery = z
  .strictObject({
    status: z.optional(z.enum(STATUSES)),
    articleId: z.optional(ArticleId),
    from: z.optional(IsoDate),
    to: z.optional(IsoDate),
    lang: z._default(Lang, 'de'),
    columns: z.optional(ColumnsParam('charges')),
    includeDeleted: z
      .optional(z.enum(['true', 'false']))
      .check(z.describe('true: deleted charges too, marked by their deletion time (needs audit:read)')),
    timezone: z.optional(TimeZoneParam),
  })
  .check(z.refine((q) => !q.from || !q.to || q.from <= q.to, RANGE_IN_ORDER));
export type ChargeReportQuery = z.infer<typeof ChargeReportQuery>;

export const AuditReportQuery = z
  .strictObject({
    // The audit explorer's filters, so an export holds exactly the records on screen.
    ...AUDIT_FILTER_FIELDS,
    lang: z._default(Lang, 'de'),
    columns: z.optional(ColumnsParam('audit')),
    timezone: z.optional(TimeZoneParam),
  })
  .check(z.refine(...ENTITY_ID_NEEDS_TYPE), z.refine(instantsInOrder, RANGE_IN_ORDER));

export const ChargeReportPdfQuery = z.strictObject({
  lang: z._default(Lang, 'de'),
  timezone: z.optional(TimeZoneParam),
});

export { PageQuery };

export const RunsQuery = z.extend(PageQuery, { definitionId: z.optional(z.uuid()) });

/**
 * The longest relative window per unit: 100 years. A longer one reached past year 0 (`P9999Y` resolved to
 * `-007973-11-26`, which no date comparison reads right) and past any data the system can hold.
 */
const WINDOW_MAX = { D: 36_525, W: 5_217, M: 1_200, Y: 100 } as const;
type WindowUnit = keyof typeof WINDOW_MAX;

/** A relative window back from the run's time: `P7D`, `P2W`, `P1M`, `P1Y`, at most 100 years. */
export const RelativeWindow = z.string().check(
  z.regex(/^P\d{1,5}[DWMY]$/, 'A date (YYYY-MM-DD) or a window like P7D'),
  z.refine((w) => Number(w.slice(1, -1)) <= WINDOW_MAX[w.at(-1) as WindowUnit], {
    message: `A window reaches back at most 100 years (P${WINDOW_MAX.Y}Y, P${WINDOW_MAX.M}M, P${WINDOW_MAX.W}W, P${WINDOW_MAX.D}D)`,
  }),
);
/** One string schema rather than a union, so a refusal says why (a union's would only say "Invalid input"). */
const DateOrWindow = z.string().check(
  z.superRefine((value, ctx) => {
    const parsed = value.startsWith('P') ? RelativeWindow.safeParse(value) : IsoDate.safeParse(value);
    if (parsed.success) return;
    const message = value.startsWith('P')
      ? (parsed.error.issues[0]?.message ?? 'Not a window')
      : 'A date (YYYY-MM-DD) or a window like P7D';
    ctx.addIssue({ code: 'custom', message });
  }),
);

export const DefinitionFilters = z
  .strictObject({
    status: z.optional(z.enum(STATUSES)),
    articleId: z.optional(ArticleId),
    from: z.optional(DateOrWindow),
    to: z.optional(DateOrWindow),
  })
  // Two dates, or two windows, are in the same order at every run: `from` after `to` would only ever give an empty
  // report. (A date and a window swap order as time passes, so that pair is left to the run.)
  .check(
    z.refine(
      ({ from, to }) => {
        if (from === undefined || to === undefined || from.startsWith('P') !== to.startsWith('P')) return true;
        const now = new Date();
        return (resolveBound(from, now) as string) <= (resolveBound(to, now) as string);
      },
      { path: ['from'], message: 'from must not be later than to' },
    ),
  );
export type DefinitionFilters = z.infer<typeof DefinitionFilters>;

const Email = z.email().check(z.maxLength(254));

/**
 * Names and titles are one line of text: they go into mail subjects and bodies sent from the system's
 * address, where a line break would let a definition inject lines and links (and into file names).
 */
const OneLine = (max: number) =>
  z
    .string()
    .check(
      z.trim(),
      z.minLength(1),
      z.maxLength(max),
      z.regex(/^[^\p{Cc}\u2028\u2029]*$/u, 'Must be one line without control characters'),
      z.refine(isWellFormed, WELL_FORMED_MESSAGE),
    );

/** Bidirectional marks and controls: embeddings, overrides, isolates, the LRM/RLM and the Arabic letter mark. */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

const DefinitionFields = {
  /** An identifier (file names are made from it): no invisible format characters. Titles are text and may hold them. */
  name: OneLine(100).check(z.refine(hasNoFormatCharacter, NO_FORMAT_CHARACTER_MESSAGE)),
  /**
   * Text, printed and mailed as the subject: invisible marks (zero-width, soft hyphen) are allowed, but not the
   * bidi controls that reorder what a reader sees (`…\u202Eslx.exe` shows as `…exe.xls`).
   */
  title: OneLine(200).check(
    z.refine(
      (t) => !BIDI_CONTROL.test(t),
      'must not contain bidi control characters (U+200E/U+200F, U+061C, U+202A–U+202E, U+2066–U+2069)',
    ),
  ),
  kind: z.enum(['charges', 'audit']),
  filters: DefinitionFilters,
  columns: z.array(z.string().check(z.maxLength(64))).check(z.minLength(1), z.maxLength(30)),
  format: z.enum(FORMATS),
  lang: Lang,
  schedule: z
    .nullable(z.string().check(z.maxLength(256)))
    .check(z.describe('EventBridge cron with or without `cron(…)`; null: run on demand only.')),
  timezone: z.string().check(z.minLength(1), z.maxLength(64)),
  recipients: z.array(Email).check(z.maxLength(50)),
};

export const NewDefinition = z
  .strictObject({
    ...DefinitionFields,
    filters: z._default(DefinitionFields.filters, {}),
    columns: z.optional(DefinitionFields.columns),
    lang: z._default(DefinitionFields.lang, 'de'),
    schedule: z.optional(DefinitionFields.schedule),
    timezone: z._default(DefinitionFields.timezone, 'UTC'),
    recipients: z._default(DefinitionFields.recipients, []),
  })
  .check(
    z.meta({
      examples: [
        {
          name: 'weekly-released',
          title: 'Released charges, last 7 days',
          kind: 'charges',
          filters: { status: 'released', from: 'P7D' },
          format: 'xlsx',
          lang: 'en',
          schedule: 'cron(0 6 ? * MON *)',
          timezone: 'Europe/Berlin',
          recipients: ['qa@example.com'],
        },
      ],
    }),
  );
export type NewDefinition = z.infer<typeof NewDefinition>;

export const DefinitionPatch = z
  .strictObject({
    name: z.optional(DefinitionFields.name),
    title: z.optional(DefinitionFields.title),
    kind: z.optional(DefinitionFields.kind),
    filters: z.optional(DefinitionFields.filters),
    columns: z.optional(z.nullable(DefinitionFields.columns)).check(z.describe('null: back to the default columns.')),
    format: z.optional(DefinitionFields.format),
    lang: z.optional(DefinitionFields.lang),
    schedule: z.optional(DefinitionFields.schedule),
    timezone: z.optional(DefinitionFields.timezone),
    recipients: z.optional(DefinitionFields.recipients),
  })
  .check(z.refine((p) => Object.keys(p).length > 0, { message: 'Nothing to change' }));
export type DefinitionPatch = z.infer<typeof DefinitionPatch>;

// Response bodies.

/** A report definition as the API shows it, with its next fire times. */
export const ReportDefinition = z.object({
  definitionId: z.uuid(),
  name: z.string(),
  title: z.string(),
  kind: z.enum(['charges', 'audit']),
  filters: DefinitionFilters,
  columns: z.nullable(z.array(z.string())).check(z.describe('null: the default columns of the kind and format.')),
  format: z.enum(FORMATS),
  lang: Lang,
  schedule: z
    .nullable(z.string())
    .check(z.describe('The EventBridge cron expression (6 fields), or null for on-demand only.')),
  timezone: z.string(),
  recipients: z.array(z.string()),
  version: z.int().check(z.minimum(1)),
  createdAt: z.iso.datetime(),
  createdBy: AuditActor,
  updatedAt: z.iso.datetime(),
  updatedBy: AuditActor,
});
export type ReportDefinition = z.infer<typeof ReportDefinition>;

export const DefinitionView = z
  .extend(ReportDefinition, {
    nextRuns: z.array(z.iso.datetime()).check(z.describe('The next three fire times (ISO), when scheduled.')),
  })
  .check(
    z.meta({
      examples: [
        {
          definitionId: '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d',
          name: 'weekly-released',
          title: 'Released charges, last 7 days',
          kind: 'charges',
          filters: { status: 'released', from: 'P7D' },
          columns: null,
          format: 'xlsx',
          lang: 'en',
          schedule: '0 6 ? * MON *',
          timezone: 'Europe/Berlin',
          recipients: ['qa@example.com'],
          version: 1,
          createdAt: '2026-05-02T10:00:00.000Z',
          createdBy: { userId: '0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c', username: 'qa.lead' },
          updatedAt: '2026-05-02T10:00:00.000Z',
          updatedBy: { userId: '0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c', username: 'qa.lead' },
          nextRuns: ['2026-05-04T04:00:00.000Z', '2026-05-11T04:00:00.000Z', '2026-05-18T04:00:00.000Z'],
        },
      ],
    }),
  );
export type DefinitionView = z.infer<typeof DefinitionView>;

export const DefinitionPage = page(DefinitionView);

export const RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run of a definition, as the API shows it (never where its file is stored). */
export const PublicRun = z
  .object({
    runId: z.uuid(),
    definitionId: z.uuid(),
    definitionName: z.string(),
    kind: z
      .enum(['charges', 'audit'])
      .check(
        z.describe(
          "The definition's report kind, kept so that access to the file does not depend on the definition existing.",
        ),
      ),
    trigger: z.enum(['schedule', 'manual']),
    requestedBy: z.nullable(AuditActor),
    status: z.enum(RUN_STATUSES),
    startedAt: z.iso.datetime(),
    finishedAt: z.nullable(z.iso.datetime()),
    rows: z.nullable(z.int()),
    bytes: z.nullable(z.int()),
    error: z.nullable(z.string()),
    attempts: z.int().check(z.minimum(0)),
    format: z.enum(FORMATS),
    filename: z.nullable(z.string()),
    contentType: z.nullable(z.string()),
    deliveredTo: z.array(z.string()).check(z.describe('Recipients the link was mailed to.')),
  })
  .check(
    z.meta({
      examples: [
        {
          runId: '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5',
          definitionId: '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d',
          definitionName: 'weekly-released',
          kind: 'charges',
          trigger: 'manual',
          requestedBy: { userId: '0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c', username: 'qa.lead' },
          status: 'succeeded',
          startedAt: '2026-05-02T10:00:00.000Z',
          finishedAt: '2026-05-02T10:00:01.200Z',
          rows: 42,
          bytes: 8192,
          error: null,
          attempts: 1,
          format: 'xlsx',
          filename: 'weekly-released-2026-05-02.xlsx',
          contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          deliveredTo: ['qa@example.com'],
        },
      ],
    }),
  );
export type PublicRun = z.infer<typeof PublicRun>;

export const RunPage = page(PublicRun);

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

/** What keeps definitions from being a mail relay: REPORT_MAX_RECIPIENTS and REPORT_RECIPIENT_DOMAINS. */
export interface RecipientLimits {
  maxRecipients: number;
  /** Lower-case; empty: any domain. */
  recipientDomains: readonly string[];
}

/** At most `maxRecipients`, each once (case-insensitive: one mail per recipient), each in an allowed domain. */
export function recipientIssues(recipients: readonly string[], limits: RecipientLimits): Issue[] {
  const issues: Issue[] = [];
  if (recipients.length > limits.maxRecipients) {
    issues.push({
      path: 'body.recipients',
      code: 'too_many_recipients',
      message: `At most ${limits.maxRecipients} recipients (REPORT_MAX_RECIPIENTS)`,
    });
  }
  const seen = new Set<string>();
  recipients.forEach((address, i) => {
    const lower = address.toLowerCase();
    if (seen.has(lower)) {
      issues.push({
        path: `body.recipients.${i}`,
        code: 'duplicate_recipient',
        message: 'A recipient may appear once',
      });
    }
    seen.add(lower);
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    if (limits.recipientDomains.length > 0 && !limits.recipientDomains.includes(domain)) {
      issues.push({
        path: `body.recipients.${i}`,
        code: 'recipient_domain',
        message: `Recipients must be in ${limits.recipientDomains.join(', ')} (REPORT_RECIPIENT_DOMAINS)`,
      });
    }
  });
  return issues;
}

/**
 * The checks that span fields (or need more than a regex): known columns for the kind, a valid
 * EventBridge cron that fires at most once an hour, a known IANA zone, filters that apply to the kind, no PDF of
 * audit data (audit exports are CSV/XLSX only), recipients within the limits. Returns the normalised cron expression.
 */
export function checkDefinition(
  settings: DefinitionSettings,
  limits: RecipientLimits,
): { issues: Issue[]; schedule: string | null } {
  const issues: Issue[] = recipientIssues(settings.recipients, limits);
  const known = new Set(FIELD_KEYS[settings.kind]);
  (settings.columns ?? []).forEach((c, i) => {
    if (!known.has(c))
      issues.push({
        path: `body.columns.${i}`,
        code: 'unknown_column',
        message: `Unknown column "${c}" for ${settings.kind} reports; known: ${[...known].join(', ')}`,
      });
  });
  if (settings.columns && new Set(settings.columns).size !== settings.columns.length) {
    issues.push({ path: 'body.columns', code: 'duplicate_column', message: 'A column may appear once' });
  }
  let schedule: string | null = null;
  if (settings.schedule) {
    try {
      schedule = parseEventBridgeCron(settings.schedule).expression;
    } catch (err) {
      issues.push({
        path: 'body.schedule',
        code: 'invalid_cron',
        message: err instanceof CronError ? err.message : 'Invalid cron expression',
      });
    }
  }
  if (!isValidTimeZone(settings.timezone)) {
    issues.push({
      path: 'body.timezone',
      code: 'invalid_timezone',
      message: `Unknown time zone "${settings.timezone}" (use an IANA name, e.g. Europe/Berlin)`,
    });
  } else if (schedule && firesMoreThanHourly(schedule, settings.timezone)) {
    issues.push({
      path: 'body.schedule',
      code: 'schedule_too_frequent',
      message: 'A schedule fires at most once an hour: one value in the minutes field (e.g. 0 * * * ? *)',
    });
  }
  if (settings.kind === 'audit') {
    if (settings.format === 'pdf')
      issues.push({ path: 'body.format', code: 'invalid_format', message: 'Audit reports are CSV or XLSX' });
    for (const key of ['status', 'articleId'] as const) {
      if (settings.filters[key] !== undefined)
        issues.push({
          path: `body.filters.${key}`,
          code: 'invalid_filter',
          message: `Audit reports cannot filter by ${key}`,
        });
    }
  }
  return { issues, schedule };
}

const DAY_MS = 86_400_000;

/**
 * A filter bound as of `now`: a date stays, a window `P7D` becomes the date 7 days (UTC) before. A window
 * stored before the 100-year cap resolves as the cap, so the bound is always a `YYYY-MM-DD`. `floor` is
 * for lower bounds only (the audit epoch, for audit reports): a bound before it is raised to it.
 */
export function resolveBound(value: string | undefined, now: Date, floor?: string): string | undefined {
  const bound = value?.startsWith('P') ? windowStart(value, now) : value;
  return bound !== undefined && floor !== undefined && bound < floor ? floor : bound;
}

function windowStart(window: string, now: Date): string {
  const unit = window.at(-1) as WindowUnit;
  const n = Math.min(Number(window.slice(1, -1)), WINDOW_MAX[unit]);
  const d = new Date(now.getTime());
  if (unit === 'D') d.setTime(d.getTime() - n * DAY_MS);
  else if (unit === 'W') d.setTime(d.getTime() - 7 * n * DAY_MS);
  else if (unit === 'M') d.setUTCMonth(d.getUTCMonth() - n);
  else d.setUTCFullYear(d.getUTCFullYear() - n);
  return d.toISOString().slice(0, 10);
}
