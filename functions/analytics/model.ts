import * as z from '#platform/zod';
import { ArticleId, IsoDate, STATUSES, UNITS } from '#charges/model';
import { AuditActor } from '#audit/model';

/**
 * Analytics queries and dashboards. The query schemas validate without transforming (what is stored in a dashboard
 * widget is exactly what was sent, and a console can put it on the URL as it is); the service reads the values.
 */

/** The longest date range one query may cover, in days (both ends included). */
export const MAX_RANGE_DAYS = 400;
/** The most values (series × points) one answer may hold: more is no longer a chart anyone can read. */
export const MAX_VALUES = 2000;
/** Without `from`, a query covers this many days up to `to`. */
export const DEFAULT_RANGE_DAYS = 30;
/** `groupBy=article` names at most `top` articles (default 10), the rest summed as `other`. */
export const DEFAULT_TOP = 10;
export const MAX_TOP = 50;

export const PERIODS = ['day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

/** A date, or a window back from today (UTC): `P30D`, `P12W`, `P6M` — what a dashboard keeps to stay current. */
/** The start of an analytics query's range. */
export const RangeFrom = z.string().check(
  z.refine((s) => /^P\d{1,3}[DWM]$/.test(s) || IsoDate.safeParse(s).success, {
    message: 'A date (YYYY-MM-DD) or a window back from today like P30D, P12W, P6M',
  }),
  z.meta({
    description: `Start date, or a window back from \`to\` like \`P30D\`; default the ${DEFAULT_RANGE_DAYS} days up to \`to\``,
  }),
);
/** The end of an analytics query's range. */
export const RangeTo = IsoDate.check(z.meta({ description: 'End date (included); default today (UTC)' }));

const inOrder = (q: { from?: string; to?: string }) => !q.from || !q.to || q.from.startsWith('P') || q.from <= q.to;
const RANGE_IN_ORDER = { message: 'from must not be after to', path: ['from'] };

export const ChargesQuery = z
  .strictObject({
    measure: z
      .optional(z.enum(['count', 'quantity']))
      .check(
        z.meta({ description: 'count (default) or quantity; quantity needs one unit (`unit=` or `groupBy=unit`)' }),
      ),
    groupBy: z.optional(z.enum(['status', 'article', 'unit', 'day', 'week', 'month'])).check(
      z.meta({
        description: 'Series per status, article or unit, or one series over days, weeks or months (default day)',
      }),
    ),
    interval: z.optional(z.enum(PERIODS)).check(
      z.meta({
        description:
          'With groupBy status, article or unit: points per day, week or month; without it, one point (the range total)',
      }),
    ),
    from: z.optional(RangeFrom),
    to: z.optional(RangeTo),
    status: z.optional(z.enum(STATUSES)),
    articleId: z.optional(ArticleId),
    unit: z.optional(z.enum(UNITS)),
    top: z
      .optional(
        z.string().check(
          z.regex(/^\d{1,2}$/, 'Decimal digits only'),
          z.refine((s) => Number(s) >= 1 && Number(s) <= MAX_TOP, { message: `1–${MAX_TOP}` }),
        ),
      )
      .check(
        z.meta({
          description: `With groupBy=article: how many articles are named (1–${MAX_TOP}, default ${DEFAULT_TOP}); the rest is \`other\``,
        }),
      ),
  })
  .check(
    z.refine(inOrder, RANGE_IN_ORDER),
    z.meta({ examples: [{ measure: 'count', groupBy: 'status', interval: 'week', from: 'P12W' }] }),
  );
export type ChargesQuery = z.infer<typeof ChargesQuery>;

export const QaQuery = z
  .strictObject({
    measure: z.optional(z.enum(['decisions', 'lead_time', 'rejection_rate'])).check(
      z.meta({
        description:
          'decisions (default: released, rejected, blocked), lead_time (p50 and p90 in days from production to the ' +
          'decision ending quarantine) or rejection_rate (rejected / (released + rejected))',
      }),
    ),
    groupBy: z.optional(z.enum(PERIODS)).check(z.meta({ description: 'Points per day (default), week or month' })),
    from: z.optional(RangeFrom),
    to: z.optional(RangeTo),
  })
  .check(
    z.refine(inOrder, RANGE_IN_ORDER),
    z.meta({ examples: [{ measure: 'rejection_rate', groupBy: 'week', from: 'P26W' }] }),
  );
export type QaQuery = z.infer<typeof QaQuery>;

export const Point = z.object({
  /** The period's first day (a week starts on Monday), or `from` for a range total. */
  t: z.iso.date(),
  /** null where nothing was decided (lead time, rejection rate). */
  value: z.nullable(z.number()),
});

export const Series = z
  .object({
    result: z.object({
      measure: z.string(),
      groupBy: z.string(),
      interval: z.nullable(z.enum(PERIODS)),
      from: z.iso.date(),
      to: z.iso.date(),
      /** The unit quantities are in; null for counts and QA measures. */
      unit: z.nullable(z.enum(UNITS)),
    }),
    series: z.array(z.object({ key: z.string(), points: z.array(Point) })),
  })
  .check(
    z.meta({
      examples: [
        {
          result: {
            measure: 'count',
            groupBy: 'status',
            interval: 'week',
            from: '2026-05-04',
            to: '2026-05-17',
            unit: null,
          },
          series: [
            {
              key: 'released',
              points: [
                { t: '2026-05-04', value: 12 },
                { t: '2026-05-11', value: 9 },
              ],
            },
            {
              key: 'quarantine',
              points: [
                { t: '2026-05-04', value: 3 },
                { t: '2026-05-11', value: 5 },
              ],
            },
          ],
        },
      ],
    }),
  );
export type Series = z.infer<typeof Series>;

// ---- dashboards ----

export const WIDGET_TYPES = ['kpi', 'line', 'bar', 'stacked_bar', 'pie', 'table'] as const;
/** The dashboard grid is 24 columns wide. */
export const GRID_COLUMNS = 24;
export const MAX_WIDGETS = 30;
/** Dashboards one user may own (shared ones included). */
export const MAX_DASHBOARDS_PER_OWNER = 20;

/** A dashboard's or widget's title. */
export const DashboardTitle = z.string().check(
  z.minLength(1),
  z.maxLength(120),
  z.refine((s) => s.trim() === s && !/\p{Cc}/u.test(s), {
    message: 'No surrounding whitespace or control characters',
  }),
);

export const WidgetQuery = z.discriminatedUnion('endpoint', [
  z.strictObject({ endpoint: z.literal('charges'), params: ChargesQuery }),
  z.strictObject({ endpoint: z.literal('qa'), params: QaQuery }),
]);
export type WidgetQuery = z.infer<typeof WidgetQuery>;

export const Widget = z.strictObject({
  id: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,40}$/, '1–40 of A–Z a–z 0–9 _ -')),
  title: DashboardTitle,
  type: z.enum(WIDGET_TYPES),
  /** `GET /analytics/<endpoint>?<params>` */
  query: WidgetQuery,
  layout: z
    .strictObject({
      x: z.int().check(z.minimum(0), z.maximum(GRID_COLUMNS - 1)),
      y: z.int().check(z.minimum(0), z.maximum(999)),
      w: z.int().check(z.minimum(1), z.maximum(GRID_COLUMNS)),
      h: z.int().check(z.minimum(1), z.maximum(24)),
    })
    .check(
      z.refine((l) => l.x + l.w <= GRID_COLUMNS, { message: `x + w must not exceed ${GRID_COLUMNS}`, path: ['w'] }),
    ),
});
export type Widget = z.infer<typeof Widget>;

const Widgets = z.array(Widget).check(
  z.maxLength(MAX_WIDGETS),
  z.refine((ws) => new Set(ws.map((w) => w.id)).size === ws.length, { message: 'Widget ids must be unique' }),
);

/** A new dashboard, and the whole of one replaced by PUT. */
export const DashboardInput = z
  .strictObject({ title: DashboardTitle, shared: z.optional(z.boolean()), widgets: z.optional(Widgets) })
  .check(
    z.meta({
      examples: [
        {
          title: 'Line 3',
          shared: false,
          widgets: [
            {
              id: 'by-status',
              title: 'Charges by status',
              type: 'stacked_bar',
              query: { endpoint: 'charges', params: { groupBy: 'status', interval: 'week', from: 'P12W' } },
              layout: { x: 0, y: 0, w: 12, h: 6 },
            },
          ],
        },
      ],
    }),
  );
export type DashboardInput = z.infer<typeof DashboardInput>;

export const Dashboard = z.object({
  id: z.string(),
  title: z.string(),
  owner: AuditActor,
  shared: z.boolean(),
  widgets: z.array(Widget),
  version: z.int().check(z.minimum(1)),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  updatedBy: AuditActor,
});
export type Dashboard = z.infer<typeof Dashboard>;

export const DashboardList = z.object({ items: z.array(Dashboard) });
