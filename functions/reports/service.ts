import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AUDIT_EPOCH, type AuditStore } from '#audit/store';
import { lowerBound, upperBound } from '#audit/model';
import type { ChargeStore } from '#charges/store';
import type { AuditActor } from '#audit/record';
import type { AuthenticatedUser } from '#platform/auth-context';
import { type LastChange, lastChangeOf } from '#audit/attribution';
import { config } from '#platform/config';
import { AppError, asError, conflict, forbidden, notFound, validationError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { logger, metrics } from '#platform/powertools';
import { type ReportAdapters } from '#reports/delivery/adapters';
import { consoleLink } from '#platform/console-link';
import { nextRuns } from '#reports/delivery/cron';
import { oneLine, scheduleNameFor } from '#reports/delivery/ports';
import { visibleText } from '#reports/delivery/mime';
import { formatDate, formatDateTime, wallClock } from '#reports/writers/labels';
import type { Lang } from '#reports/writers/table';
import { type AuditRange, buildExport, type ExportFile, type ExportSpec } from './export';
import {
  checkDefinition,
  type DefinitionPatch,
  type DefinitionSettings,
  type DefinitionView,
  type Format,
  type NewDefinition,
  type PublicRun,
  type RecipientLimits,
  recipientIssues,
  resolveBound,
} from './model';
import type { Page, ReportDefinition, ReportStore, ReportRun } from './store';

/** A run tries to build and store its file this often before it is recorded as failed. */
export const RUN_ATTEMPTS = 2;

const actorOf = (user: AuthenticatedUser): AuditActor => ({ userId: user.userId, username: user.username });

/** Definitions there may be at most: each can mail and run on a schedule. Past it, a create is 409 CONFLICT. */
export const MAX_DEFINITIONS = 100;

const recipientLimits = (): RecipientLimits => ({
  maxRecipients: config().REPORT_MAX_RECIPIENTS,
  recipientDomains: config().REPORT_RECIPIENT_DOMAINS,
});

/**
 * The stamp of a definition change: the audit trail reads definition changes from the reports table's stream
 * (functions/reports/audited.ts) and believes only who/why/when the attribution MAC vouches for.
 */
const changeBy = (user: AuthenticatedUser, meta: RequestMeta | undefined, at: string, reason: string | null = null) =>
  lastChangeOf(actorOf(user), reason, meta ?? {}, at);

const FILTER_NAMES: Record<Lang, Record<string, string>> = {
  de: {
    status: 'Status',
    articleId: 'Artikel',
    from: 'von',
    to: 'bis',
    entityType: 'Objektart',
    entityId: 'Objekt',
    actor: 'Benutzer',
    action: 'Aktion',
  },
  en: {
    status: 'Status',
    articleId: 'Article',
    from: 'from',
    to: 'to',
    entityType: 'Entity type',
    entityId: 'Entity',
    actor: 'Actor',
    action: 'Action',
  },
};

function filterLabels(filters: Record<string, string | undefined>, lang: Lang): [string, string][] {
  return Object.entries(filters)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => [FILTER_NAMES[lang][k] ?? k, v]);
}

const slug = (s: string) =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 60) || 'report';

export interface ReportDeps {
  repo: ReportStore;
  charges: Pick<ChargeStore, 'list' | 'get'>;
  audit: Pick<AuditStore, 'search'>;
  adapters: () => ReportAdapters;
}

export type { DefinitionView, PublicRun };

/** Reports domain: exports, definitions (with their schedules) and runs. Knows no HTTP and no SDK. */
export class ReportService {
  constructor(private readonly deps: ReportDeps) {}

  exportCharges(
    query: {
      status?: ExportSpecFilter['status'];
      articleId?: string;
      from?: string;
      to?: string;
      lang: Lang;
      columns?: string[];
      includeDeleted?: 'true' | 'false';
      timezone?: string;
    },
    format: Format,
    user: AuthenticatedUser,
  ): Promise<ExportFile> {
    const { lang, columns, includeDeleted, timezone, ...filter } = query;
    const withDeleted = includeDeleted === 'true';
    // Deleted charges are audit data: only those who may read the audit trail see them.
    if (withDeleted && !user.permissions.includes('audit:read')) {
      throw forbidden('Exporting deleted charges needs audit:read');
    }
    const labels = filterLabels(filter, lang);
    if (withDeleted) labels.push([lang === 'de' ? 'mit gelöschten' : 'with deleted', lang === 'de' ? 'ja' : 'yes']);
    return buildExport(
      {
        spec: { kind: 'charges', filter },
        format,
        lang,
        title: lang === 'de' ? 'Chargenliste' : 'Batch list',
        columns,
        includeDeleted: withDeleted,
        timeZone: timezone,
        generatedAt: new Date(),
        generatedBy: user.username,
        filterLabels: labels,
      },
      this.deps,
    );
  }

  /** Audit data needs audit:read on top of reports:read. */
  exportAudit(
    query: {
      from?: string;
      to?: string;
      entityType?: string;
      entityId?: string;
      actor?: string;
      action?: string;
      lang: Lang;
      columns?: string[];
      timezone?: string;
    },
    format: Format,
    user: AuthenticatedUser,
  ): Promise<ExportFile> {
    if (!user.permissions.includes('audit:read')) throw forbidden('Exporting the audit trail needs audit:read');
    const { lang, from, to, columns, timezone, entityType, entityId, actor, action } = query;
    const narrowing = Object.fromEntries(
      Object.entries({ entityType, entityId, actor, action }).filter(([, v]) => v !== undefined),
    ) as Pick<AuditRange, 'entityType' | 'entityId' | 'actor' | 'action'>;
    return buildExport(
      {
        spec: { kind: 'audit', range: { from: lowerBound(from), to: upperBound(to), ...narrowing } },
        format,
        lang,
        title: lang === 'de' ? 'Audit-Trail' : 'Audit trail',
        columns,
        timeZone: timezone,
        generatedAt: new Date(),
        generatedBy: user.username,
        filterLabels: filterLabels({ ...narrowing, from, to }, lang),
      },
      this.deps,
    );
  }

  // ---- definitions ----

  private validate(settings: DefinitionSettings, user: AuthenticatedUser): string | null {
    const { issues, schedule } = checkDefinition(settings, recipientLimits());
    if (issues.length > 0) throw validationError('The report definition is not valid', issues);
    if (settings.kind === 'audit' && !user.permissions.includes('audit:read')) {
      throw forbidden('Audit report definitions need audit:read');
    }
    return schedule;
  }

  private async syncSchedule(def: ReportDefinition): Promise<void> {
    const name = scheduleNameFor(def.definitionId);
    if (def.schedule) {
      await this.deps.adapters().scheduler.upsert({
        name,
        cron: def.schedule,
        timezone: def.timezone,
        event: { definitionId: def.definitionId },
      });
    } else {
      await this.deps.adapters().scheduler.remove(name);
    }
  }

  view(def: ReportDefinition): DefinitionView {
    return {
      ...def,
      nextRuns: def.schedule ? nextRuns(def.schedule, def.timezone, 3).map((d) => d.toISOString()) : [],
    };
  }

  async createDefinition(input: NewDefinition, user: AuthenticatedUser, meta?: RequestMeta): Promise<DefinitionView> {
    const schedule = this.validate(input, user);
    const now = new Date().toISOString();
    const def: ReportDefinition = {
      definitionId: randomUUID(),
      name: input.name,
      title: input.title,
      kind: input.kind,
      filters: input.filters,
      columns: input.columns ?? null,
      format: input.format,
      lang: input.lang,
      schedule,
      timezone: input.timezone,
      recipients: input.recipients,
      version: 1,
      createdAt: now,
      createdBy: actorOf(user),
      updatedAt: now,
      updatedBy: actorOf(user),
    };
    const outcome = await this.deps.repo.createDefinition(def, MAX_DEFINITIONS, changeBy(user, meta, now));
    if (outcome === 'exists') throw conflict('A definition with this id exists');
    if (outcome === 'limit') {
      throw conflict(`There are ${MAX_DEFINITIONS} report definitions, the most there may be: delete one first`, {
        limit: MAX_DEFINITIONS,
      });
    }
    try {
      await this.syncSchedule(def);
    } catch (err) {
      // No definition without its schedule: undo, so a retry starts clean.
      const undo: LastChange = changeBy(user, meta, new Date().toISOString(), 'Undone: its schedule could not be set');
      // The undo's own failure must not hide why the create failed.
      await this.deps.repo.deleteDefinition(def, undo).catch(() => undefined);
      throw err;
    }
    return this.view(def);
  }

  async getDefinition(id: string): Promise<ReportDefinition> {
    const def = await this.deps.repo.getDefinition(id);
    if (!def) throw notFound('No such report definition');
    return def;
  }

  async listDefinitions(limit: number, cursor?: string): Promise<Page<DefinitionView>> {
    const page = await this.deps.repo.listDefinitions(limit, cursor);
    return { items: page.items.map((d) => this.view(d)), nextCursor: page.nextCursor };
  }

  async updateDefinition(
    id: string,
    patch: DefinitionPatch,
    user: AuthenticatedUser,
    meta?: RequestMeta,
  ): Promise<DefinitionView> {
    const current = await this.getDefinition(id);
    const merged: DefinitionSettings = {
      name: patch.name ?? current.name,
      title: patch.title ?? current.title,
      kind: patch.kind ?? current.kind,
      filters: patch.filters ?? current.filters,
      columns: patch.columns === undefined ? current.columns : patch.columns,
      format: patch.format ?? current.format,
      lang: patch.lang ?? current.lang,
      schedule: patch.schedule === undefined ? current.schedule : patch.schedule,
      timezone: patch.timezone ?? current.timezone,
      recipients: patch.recipients ?? current.recipients,
    };
    if (current.kind === 'audit' && !user.permissions.includes('audit:read')) {
      throw forbidden('Audit report definitions need audit:read');
    }
    const schedule = this.validate(merged, user);
    const next: ReportDefinition = {
      ...current,
      ...merged,
      columns: merged.columns ?? null,
      schedule,
      version: current.version + 1,
      updatedAt: new Date().toISOString(),
      updatedBy: actorOf(user),
    };
    if (!(await this.deps.repo.putDefinition(next, current.version, changeBy(user, meta, next.updatedAt)))) {
      throw new AppError('CONFLICT', 'The definition was changed at the same time: read it again and retry');
    }
    try {
      await this.syncSchedule(next);
    } catch (err) {
      // Undone as a change of its own (the trail holds both), back to the settings before.
      const at = new Date().toISOString();
      const undone = { ...current, version: next.version + 1, updatedAt: at };
      await this.deps.repo.putDefinition(
        undone,
        next.version,
        changeBy(user, meta, at, 'Undone: the schedule could not be changed'),
      );
      throw err;
    }
    return this.view(next);
  }

  async deleteDefinition(id: string, user: AuthenticatedUser, meta?: RequestMeta): Promise<void> {
    const current = await this.getDefinition(id);
    // Schedule first: a definition whose schedule could not be removed stays, and the delete can be retried.
    await this.deps.adapters().scheduler.remove(scheduleNameFor(id));
    const deleted = await this.deps.repo.deleteDefinition(current, changeBy(user, meta, new Date().toISOString()));
    if (!deleted) throw notFound('No such report definition');
  }

  // ---- runs ----

  /**
   * One run of a definition: build the file (retried), store it, record the run, mail the recipients a
   * link. A run that fails after its attempts is recorded `failed` with the error and counted as the
   * ReportRunFailed metric (alarmed in AWS); it is never silent.
   */
  async runDefinition(
    definitionId: string,
    trigger: ReportRun['trigger'],
    requestedBy: AuthenticatedUser | null,
  ): Promise<ReportRun> {
    const def = await this.deps.repo.getDefinition(definitionId);
    if (!def) {
      if (trigger === 'schedule') metrics.addMetric('ReportRunFailed', MetricUnit.Count, 1);
      throw notFound('No such report definition');
    }
    if (def.kind === 'audit' && requestedBy && !requestedBy.permissions.includes('audit:read')) {
      throw forbidden('Audit reports need audit:read');
    }
    const startedAt = new Date();
    const run: ReportRun = {
      runId: randomUUID(),
      definitionId,
      definitionName: def.name,
      kind: def.kind,
      trigger,
      requestedBy: requestedBy ? actorOf(requestedBy) : null,
      status: 'running',
      startedAt: startedAt.toISOString(),
      finishedAt: null,
      rows: null,
      bytes: null,
      error: null,
      attempts: 0,
      format: def.format,
      filename: `${slug(def.name)}-${startedAt.toISOString().slice(0, 10)}.${def.format}`,
      contentType: null,
      objectKey: null,
      deliveredTo: [],
    };
    await this.deps.repo.putRun(run);
    const log = logger.createChild({ persistentKeys: { runId: run.runId, definitionId } });

    let stored: { file: Pick<ExportFile, 'rows' | 'bytes' | 'contentType'>; key: string } | undefined;
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= RUN_ATTEMPTS && !stored; attempt++) {
      run.attempts = attempt;
      let file: ExportFile | undefined;
      try {
        file = await buildExport(this.exportRequest(def, startedAt, requestedBy?.username ?? 'scheduler'), this.deps);
        const key = `runs/${run.runId}/${run.filename}`;
        await this.deps.adapters().objects.putFile(key, file.path, file.contentType);
        stored = { file, key };
      } catch (err) {
        lastError = asError(err);
        log.warn('Report run attempt failed', { attempt, error: lastError });
        // The request itself is wrong (e.g. too many rows for a PDF): trying again cannot help.
        if (err instanceof AppError) break;
      } finally {
        await file?.cleanup();
      }
    }

    if (!stored) return this.failRun(run, 'The report could not be built or stored', log, lastError);

    const done: Partial<ReportRun> = {
      rows: stored.file.rows,
      bytes: stored.file.bytes,
      contentType: stored.file.contentType,
      objectKey: stored.key,
      attempts: run.attempts,
    };
    Object.assign(run, done);
    if (def.recipients.length > 0) {
      try {
        await this.mail(def, run);
      } catch (err) {
        // The file is stored and downloadable; the run still failed its job of delivering it.
        return this.failRun(run, 'The report was stored but could not be mailed', log, asError(err));
      }
    }
    run.status = 'succeeded';
    run.finishedAt = new Date().toISOString();
    await this.deps.repo.finishRun(run.runId, {
      ...done,
      status: run.status,
      finishedAt: run.finishedAt,
      deliveredTo: run.deliveredTo,
    });
    metrics.addMetric('ReportRunSucceeded', MetricUnit.Count, 1);
    log.info('Report run succeeded', { rows: run.rows, bytes: run.bytes, recipients: run.deliveredTo.length });
    return run;
  }

  /**
   * The run record is readable by anyone with `reports:read`: it says what failed and, for a refused request (an
   * AppError, written for clients, e.g. EXPORT_TOO_LARGE), why; any other cause (an SDK message, which in AWS names
   * accounts, roles and resources) stays in the log line, found by the error id the record gives.
   */
  private async failRun(run: ReportRun, what: string, log: typeof logger, cause?: Error): Promise<ReportRun> {
    const errorId = randomUUID();
    run.status = 'failed';
    run.error = (
      cause instanceof AppError ? `${what}: ${cause.message}` : `${what} (error id ${errorId}; see the log)`
    ).slice(0, 1000);
    run.finishedAt = new Date().toISOString();
    await this.deps.repo.finishRun(run.runId, {
      status: run.status,
      error: run.error,
      finishedAt: run.finishedAt,
      attempts: run.attempts,
      rows: run.rows,
      bytes: run.bytes,
      objectKey: run.objectKey,
      contentType: run.contentType,
      deliveredTo: run.deliveredTo,
    });
    metrics.addMetric('ReportRunFailed', MetricUnit.Count, 1);
    log.error('Report run failed', { error_id: errorId, reason: run.error, error: cause, attempts: run.attempts });
    return run;
  }

  private exportRequest(def: ReportDefinition, at: Date, by: string) {
    // There is no audit record before the system existed: an audit report's window starts there at the earliest.
    const from = resolveBound(def.filters.from, at, def.kind === 'audit' ? AUDIT_EPOCH.slice(0, 10) : undefined);
    const to = resolveBound(def.filters.to, at);
    const spec: ExportSpec =
      def.kind === 'charges'
        ? { kind: 'charges', filter: { status: def.filters.status, articleId: def.filters.articleId, from, to } }
        : { kind: 'audit', range: { from: lowerBound(from), to: upperBound(to) } };
    return {
      spec,
      format: def.format,
      lang: def.lang,
      title: def.title,
      columns: def.columns ?? undefined,
      timeZone: def.timezone,
      generatedAt: at,
      generatedBy: by,
      filterLabels: filterLabels({ status: def.filters.status, articleId: def.filters.articleId, from, to }, def.lang),
    };
  }

  /**
   * The link opens the run in the console: a person signs in there, and the download goes through the API, which
   * checks the reader's permission and then redirects to a short-lived URL.
   */
  runLink(runId: string): string {
    return consoleLink(`/reports/runs/${runId}`);
  }

  private async mail(def: ReportDefinition, run: ReportRun): Promise<void> {
    const link = this.runLink(run.runId);
    const de = def.lang === 'de';
    // The definition's zone, as in the file: a Berlin report run at 00:30 local time is of that day, not the one before.
    const started = new Date(run.startedAt);
    const date = formatDate(wallClock(started, def.timezone), def.lang);
    const startedText = formatDateTime(started, def.lang, def.timezone);
    // Titles are one line (the model refuses control characters); this also holds for older definitions.
    const title = visibleText(oneLine(def.title));
    const subject = de ? `Bericht „${title}“ vom ${date}` : `Report "${title}" of ${date}`;
    // Audit data stays audit data in a file: the download needs audit:read as well (runDownloadUrl).
    const permissions = def.kind === 'audit' ? ['reports:read', 'audit:read'] : ['reports:read'];
    const text = de
      ? [
          'Guten Tag,',
          '',
          `der Bericht „${title}“ (${def.format.toUpperCase()}, ${run.rows} Zeilen) wurde am ${startedText} erstellt.`,
          '',
          `Im Browser öffnen und herunterladen (Anmeldung mit ${permissions.length > 1 ? 'den Berechtigungen' : 'der Berechtigung'} ${permissions.join(' und ')} erforderlich):`,
          link,
          '',
          `Lauf: ${run.runId}`,
        ]
      : [
          'Hello,',
          '',
          `the report "${title}" (${def.format.toUpperCase()}, ${run.rows} rows) was generated at ${startedText}.`,
          '',
          `Open in the browser and download (sign-in with the ${permissions.join(' and ')} permission${permissions.length > 1 ? 's' : ''} required):`,
          link,
          '',
          `Run: ${run.runId}`,
        ];
    // The limits hold at every run, also for a definition stored before they were lowered.
    const refused = recipientIssues(def.recipients, recipientLimits());
    if (refused.length > 0) {
      throw validationError(`The recipients are not allowed: ${refused.map((i) => i.message).join('; ')}`, refused);
    }
    // One mail per recipient: nobody learns who else receives the report.
    let lastError: unknown;
    for (const recipient of def.recipients) {
      for (let attempt = 1; attempt <= RUN_ATTEMPTS; attempt++) {
        try {
          await this.deps.adapters().mailer.send({ to: [recipient], subject, text: text.join('\n') });
          run.deliveredTo.push(recipient);
          lastError = undefined;
          break;
        } catch (err) {
          lastError = err;
        }
      }
      if (lastError !== undefined) throw asError(lastError);
    }
  }

  listRuns(limit: number, cursor?: string, definitionId?: string): Promise<Page<PublicRun>> {
    return this.deps.repo
      .listRuns(limit, cursor, definitionId)
      .then((p) => ({ items: p.items.map(publicRun), nextCursor: p.nextCursor }));
  }

  /** One run, as `POST /reports/definitions/{id}/run` names it in its Location. */
  async getRun(runId: string): Promise<PublicRun> {
    const run = await this.deps.repo.getRun(runId);
    if (!run) throw notFound('No such report run');
    return publicRun(run);
  }

  /** A short-lived link to a run's file. */
  async runDownloadUrl(runId: string, user: AuthenticatedUser): Promise<string> {
    const run = await this.deps.repo.getRun(runId);
    if (!run) throw notFound('No such report run');
    if (!run.objectKey || !run.filename) throw notFound('This run has no file');
    // Audit data stays audit data after it has been put into a file.
    if (run.kind === 'audit' && !user.permissions.includes('audit:read')) {
      throw forbidden('This report holds audit data: it needs audit:read');
    }
    return this.deps.adapters().objects.downloadUrl(run.objectKey, run.filename);
  }
}

type ExportSpecFilter = Extract<ExportSpec, { kind: 'charges' }>['filter'];

export const publicRun = (run: ReportRun): PublicRun => {
  const { objectKey: _key, ...rest } = run;
  return rest;
};
