import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { appendAuditRecord } from '#audit/audit-log';
import { diffFields } from '#audit/diff';
import type { AuditActor } from '#audit/record';
import type { AuthenticatedUser } from '#platform/auth-context';
import { documentDb } from '#platform/dynamo';
import { AppError, asError, conflict, forbidden, notFound, validationError } from '#platform/errors';
import { logger } from '#platform/powertools';
import type { RequestMeta } from '#platform/request-meta';
import { tableName } from '#platform/tables';
import { type Dashboard, type DashboardInput, MAX_DASHBOARDS_PER_OWNER, type Widget } from './model';
import { widgetQueryIssues } from './service';

/** Dashboards live in the analytics table, in one partition: there are few, and a list reads them all. */
const DASHBOARD_PK = 'DASH';
const SEED_KEY = { pk: 'DASHSEED', sk: 'DASHSEED' };

/** The owner of the dashboards the system ships. */
export const SYSTEM_ACTOR: AuditActor = { userId: 'system', username: 'system' };

/** The shared dashboard every installation starts with (its id fixed, so seeding twice finds it). */
export const QA_OVERVIEW_ID = '00000000-0000-4000-8000-0000000000a1';

export const QA_OVERVIEW_WIDGETS: Widget[] = [
  {
    id: 'released-30d',
    title: 'Released (30 days)',
    type: 'kpi',
    query: { endpoint: 'qa', params: { measure: 'decisions', groupBy: 'month', from: 'P30D' } },
    layout: { x: 0, y: 0, w: 6, h: 3 },
  },
  {
    id: 'rejection-rate',
    title: 'Rejection rate per week',
    type: 'line',
    query: { endpoint: 'qa', params: { measure: 'rejection_rate', groupBy: 'week', from: 'P26W' } },
    layout: { x: 6, y: 0, w: 9, h: 6 },
  },
  {
    id: 'lead-time',
    title: 'Quarantine lead time p50 / p90 (days)',
    type: 'line',
    query: { endpoint: 'qa', params: { measure: 'lead_time', groupBy: 'week', from: 'P26W' } },
    layout: { x: 15, y: 0, w: 9, h: 6 },
  },
  {
    id: 'decisions',
    title: 'QA decisions per day',
    type: 'stacked_bar',
    query: { endpoint: 'qa', params: { measure: 'decisions', groupBy: 'day', from: 'P30D' } },
    layout: { x: 0, y: 6, w: 12, h: 6 },
  },
  {
    id: 'by-status',
    title: 'Charges by status',
    type: 'pie',
    query: { endpoint: 'charges', params: { measure: 'count', groupBy: 'status', from: 'P90D' } },
    layout: { x: 12, y: 6, w: 6, h: 6 },
  },
  {
    id: 'top-articles',
    title: 'Top articles (90 days)',
    type: 'table',
    query: { endpoint: 'charges', params: { measure: 'count', groupBy: 'article', top: '10', from: 'P90D' } },
    layout: { x: 18, y: 6, w: 6, h: 6 },
  },
  {
    id: 'produced-per-week',
    title: 'Charges produced per week',
    type: 'bar',
    query: { endpoint: 'charges', params: { measure: 'count', groupBy: 'week', from: 'P26W' } },
    layout: { x: 0, y: 12, w: 24, h: 6 },
  },
];

type DashboardItem = Dashboard & { pk: string; sk: string };

const toDashboard = ({ pk: _pk, sk: _sk, ...rest }: Record<string, unknown>) => rest as unknown as Dashboard;

export class DashboardStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('analytics'),
  ) {}

  async get(id: string): Promise<Dashboard | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: DASHBOARD_PK, sk: id }, ConsistentRead: true }),
    );
    return Item ? toDashboard(Item) : undefined;
  }

  async all(): Promise<Dashboard[]> {
    const out: Dashboard[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': DASHBOARD_PK },
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []).map(toDashboard));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** Creates (expectedVersion undefined) or replaces the dashboard if it is still at `expectedVersion`. */
  async put(dashboard: Dashboard, expectedVersion?: number): Promise<boolean> {
    const item: DashboardItem = { ...dashboard, pk: DASHBOARD_PK, sk: dashboard.id };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#v = :v',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':v': expectedVersion },
              }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async delete(id: string, expectedVersion: number): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: DASHBOARD_PK, sk: id },
          ConditionExpression: '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': expectedVersion },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** True the first time only: the seed marker makes seeding happen once, even after the seeded dashboard is deleted. */
  async claimSeed(now: string): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...SEED_KEY, seededAt: now },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

/** `If-Match: "<version>"`: missing → 428, unreadable → 412 (it cannot name the current version). */
export function parseIfMatch(value: string | undefined): number {
  if (value === undefined || value.trim() === '') {
    throw new AppError('PRECONDITION_REQUIRED', 'If-Match with the dashboard version ("<version>") is required');
  }
  const match = /^(?:W\/)?"?(\d{1,10})"?$/.exec(value.trim());
  if (!match) throw new AppError('PRECONDITION_FAILED', 'If-Match does not name the current version of the dashboard');
  return Number(match[1]);
}

export const etagOf = (d: Pick<Dashboard, 'version'>) => `"${d.version}"`;

const actorOf = (user: AuthenticatedUser): AuditActor => ({ userId: user.userId, username: user.username });

/** What the audit record holds itself (actor, time, version), or never changes. */
const UNAUDITED_FIELDS = new Set(['id', 'version', 'createdAt', 'updatedAt', 'updatedBy']);

const canManageShared = (user: AuthenticatedUser) => user.permissions.includes('reports:manage');

/**
 * Dashboards: everyone with charges:read reads the shared ones and keeps their own; only reports:manage creates,
 * changes, shares, unshares or deletes a shared one. Somebody else's own dashboard does not exist for the caller (404).
 * Every change is appended to the audit trail (`entityType: "dashboard"`).
 */
export class DashboardService {
  private seeded = false;

  constructor(
    private readonly store: DashboardStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The shared "QA overview", created once per installation (the first list, or the local runtime's start). */
  async seed(): Promise<void> {
    if (this.seeded) return;
    const now = this.clock().toISOString();
    if (await this.store.claimSeed(now)) {
      const dashboard: Dashboard = {
        id: QA_OVERVIEW_ID,
        title: 'QA overview',
        owner: SYSTEM_ACTOR,
        shared: true,
        widgets: QA_OVERVIEW_WIDGETS,
        version: 1,
        createdAt: now,
        updatedAt: now,
        updatedBy: SYSTEM_ACTOR,
      };
      if (await this.store.put(dashboard)) await this.audit('create', undefined, dashboard, SYSTEM_ACTOR, undefined);
    }
    this.seeded = true;
  }

  async list(user: AuthenticatedUser): Promise<{ items: Dashboard[] }> {
    await this.seed();
    const all = await this.store.all();
    const items = all
      .filter((d) => d.shared || d.owner.userId === user.userId)
      .sort((a, b) => Number(b.shared) - Number(a.shared) || a.title.localeCompare(b.title) || (a.id < b.id ? -1 : 1));
    return { items };
  }

  async get(id: string, user: AuthenticatedUser): Promise<Dashboard> {
    const d = await this.store.get(id);
    if (!d || !(d.shared || d.owner.userId === user.userId)) throw notFound('No such dashboard');
    return d;
  }

  async create(input: DashboardInput, user: AuthenticatedUser, meta: RequestMeta): Promise<Dashboard> {
    const shared = input.shared ?? false;
    if (shared && !canManageShared(user)) throw forbidden('Shared dashboards need reports:manage');
    this.checkWidgets(input.widgets ?? []);
    const own = (await this.store.all()).filter((d) => d.owner.userId === user.userId).length;
    if (own >= MAX_DASHBOARDS_PER_OWNER) {
      throw conflict(`You own ${MAX_DASHBOARDS_PER_OWNER} dashboards already: delete one first`);
    }
    const now = this.clock().toISOString();
    const dashboard: Dashboard = {
      id: randomUUID(),
      title: input.title,
      owner: actorOf(user),
      shared,
      widgets: input.widgets ?? [],
      version: 1,
      createdAt: now,
      updatedAt: now,
      updatedBy: actorOf(user),
    };
    if (!(await this.store.put(dashboard))) throw conflict('A dashboard with this id exists');
    await this.audit('create', undefined, dashboard, actorOf(user), meta);
    return dashboard;
  }

  async replace(
    id: string,
    input: DashboardInput,
    ifMatch: string | undefined,
    user: AuthenticatedUser,
    meta: RequestMeta,
  ): Promise<Dashboard> {
    const expected = parseIfMatch(ifMatch);
    const current = await this.get(id, user);
    const shared = input.shared ?? current.shared;
    this.assertMayChange(current, user);
    if (shared !== current.shared && !canManageShared(user)) {
      throw forbidden('Sharing or unsharing a dashboard needs reports:manage');
    }
    this.checkWidgets(input.widgets ?? []);
    if (current.version !== expected) throw stale();
    const next: Dashboard = {
      ...current,
      title: input.title,
      shared,
      widgets: input.widgets ?? [],
      version: current.version + 1,
      updatedAt: this.clock().toISOString(),
      updatedBy: actorOf(user),
    };
    if (!(await this.store.put(next, expected))) throw stale();
    await this.audit('update', current, next, actorOf(user), meta);
    return next;
  }

  async delete(id: string, ifMatch: string | undefined, user: AuthenticatedUser, meta: RequestMeta): Promise<void> {
    const expected = parseIfMatch(ifMatch);
    const current = await this.get(id, user);
    this.assertMayChange(current, user);
    if (current.version !== expected || !(await this.store.delete(id, expected))) throw stale();
    await this.audit('delete', current, undefined, actorOf(user), meta);
  }

  /** A shared dashboard is changed by reports:manage only; an own one by its owner only. */
  private assertMayChange(d: Dashboard, user: AuthenticatedUser): void {
    if (d.shared ? !canManageShared(user) : d.owner.userId !== user.userId) {
      throw forbidden('Shared dashboards are changed by reports:manage only');
    }
  }

  /** Every widget's query must be one the analytics routes would answer (range and size bounds included). */
  private checkWidgets(widgets: readonly Widget[]): void {
    const now = this.clock();
    const issues = widgets.flatMap((w, i) =>
      widgetQueryIssues(w.query, now).map((issue) => ({
        ...issue,
        path: `body.widgets.${i}.query.params.${issue.path}`,
      })),
    );
    if (issues.length > 0) throw validationError('A widget query is not valid', issues);
  }

  /**
   * Dashboards are in no table stream the audit trail reads: each change is appended here once it is made. A failed
   * append is logged with the change and answered 500, so the change is never taken for audited.
   */
  private async audit(
    action: 'create' | 'update' | 'delete',
    before: Dashboard | undefined,
    after: Dashboard | undefined,
    actor: AuditActor,
    meta: RequestMeta | undefined,
  ): Promise<void> {
    const d = (after ?? before) as Dashboard;
    const changes = diffFields(
      before as Record<string, unknown> | undefined,
      after as Record<string, unknown> | undefined,
      UNAUDITED_FIELDS,
    );
    try {
      await appendAuditRecord({
        entityType: 'dashboard',
        entityId: d.id,
        action,
        actor,
        requestId: meta?.requestId,
        correlationId: meta?.correlationId ?? null,
        version: d.version,
        changes,
      });
    } catch (err) {
      logger.error('A dashboard change could not be put on the audit trail', {
        dashboardId: d.id,
        action,
        actor,
        error: asError(err),
      });
      throw err;
    }
  }
}

const stale = () => new AppError('PRECONDITION_FAILED', 'The dashboard has changed since it was read: read it again');
