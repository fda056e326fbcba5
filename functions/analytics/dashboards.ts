import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { attributionKey } from '#audit/adapters';
import { type LastChange, lastChangeOf, MAC_ATTRIBUTE, stampItem } from '#audit/attribution';
import type { AuditActor } from '#audit/record';
import type { AuthenticatedUser } from '#platform/auth-context';
import { conditionHeld, versionCondition } from '#platform/conditional-write';
import { documentDb } from '#platform/dynamo';
import { AppError, conflict, forbidden, notFound, validationError } from '#platform/errors';
import type { RequestMeta } from '#platform/request-meta';
import { tableName } from '#platform/tables';
import { DASHBOARD_ENTITY, DASHBOARD_PK, DASHBOARD_UNSIGNED_FIELDS, dashboardKey } from './dashboard-item';
import { type Dashboard, type DashboardInput, MAX_DASHBOARDS_PER_OWNER, type Widget } from './model';
import { widgetQueryIssues } from './service';

const SEED_KEY = { pk: 'DASHSEED', sk: 'DASHSEED' };

/** The owner of the dashboards the system ships. */
export const SYSTEM_ACTOR: AuditActor = { userId: 'system', username: 'system' };

/** The shared dashboard every installation starts with (its id fixed, so seeding twice finds it). */
export const QA_OVERVIEW_ID = '00000000-0000-4000-8000-0000000000a1';

/** A widget of the shipped dashboard: its query as `[endpoint, measure, groupBy, from]`, its layout as `[x, y, w, h]`. */
type WidgetRow = [Widget['id'], Widget['title'], Widget['type'], [string, string, string, string], number[]];

const QA_OVERVIEW_ROWS: WidgetRow[] = [
  ['released-30d', 'Released (30 days)', 'kpi', ['qa', 'decisions', 'month', 'P30D'], [0, 0, 6, 3]],
  ['rejection-rate', 'Rejection rate per week', 'line', ['qa', 'rejection_rate', 'week', 'P26W'], [6, 0, 9, 6]],
  ['lead-time', 'Quarantine lead time p50 / p90 (days)', 'line', ['qa', 'lead_time', 'week', 'P26W'], [15, 0, 9, 6]],
  ['decisions', 'QA decisions per day', 'stacked_bar', ['qa', 'decisions', 'day', 'P30D'], [0, 6, 12, 6]],
  ['by-status', 'Charges by status', 'pie', ['charges', 'count', 'status', 'P90D'], [12, 6, 6, 6]],
  ['top-articles', 'Top articles (90 days)', 'table', ['charges', 'count', 'article', 'P90D'], [18, 6, 6, 6]],
  ['produced-per-week', 'Charges produced per week', 'bar', ['charges', 'count', 'week', 'P26W'], [0, 12, 24, 6]],
];

export const QA_OVERVIEW_WIDGETS: Widget[] = QA_OVERVIEW_ROWS.map(
  ([id, title, type, [endpoint, measure, groupBy, from], [x, y, w, h]]) => ({
    id,
    title,
    type,
    // The top articles: the ten most produced.
    query: {
      endpoint,
      params: { measure, groupBy, ...(groupBy === 'article' ? { top: '10' } : {}), from },
    } as Widget['query'],
    layout: { x: x!, y: y!, w: w!, h: h! },
  }),
);

const toDashboard = ({ pk: _pk, sk: _sk, lastChange: _l, [MAC_ATTRIBUTE]: _m, ...rest }: Record<string, unknown>) =>
  rest as unknown as Dashboard;

/** A stored item that is a dashboard, not the tombstone a delete leaves for a moment. */
const live = (item: Record<string, unknown> | undefined) => item !== undefined && item.deletedAt === undefined;

/** The item stamped with `change` and the attribution MAC: the only attribution the audit trail believes. */
function stamped(id: string, item: Record<string, unknown>, change: LastChange) {
  return stampItem(
    attributionKey(),
    DASHBOARD_ENTITY,
    id,
    { ...item, lastChange: change, ...dashboardKey(id) },
    DASHBOARD_UNSIGNED_FIELDS,
  );
}

export class DashboardStore {
  constructor(
    private readonly db: DynamoDBDocumentClient = documentDb(),
    private readonly table: string = tableName('dashboards'),
  ) {}

  async get(id: string): Promise<Dashboard | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: dashboardKey(id), ConsistentRead: true }),
    );
    return Item && live(Item) ? toDashboard(Item) : undefined;
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
      out.push(...(page.Items ?? []).filter(live).map(toDashboard));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * Creates (expectedVersion undefined) or replaces the dashboard if it is still at `expectedVersion`, stamped with
   * `change` (the audit trail reads dashboard changes from the analytics table's stream).
   */
  async put(dashboard: Dashboard, change: LastChange, expectedVersion?: number): Promise<boolean> {
    const item = await stamped(dashboard.id, { ...dashboard }, change);
    return conditionHeld(
      this.db.send(new PutCommand({ TableName: this.table, Item: item, ...versionCondition(expectedVersion) })),
    );
  }

  /**
   * Deletes the dashboard if it is still at its version: first the stamped tombstone (the delete the audit trail
   * records: identity kept, content gone), then its removal, which is no change of its own.
   */
  async delete(current: Dashboard, change: LastChange): Promise<boolean> {
    const tombstone = await stamped(
      current.id,
      {
        id: current.id,
        owner: current.owner,
        version: current.version + 1,
        createdAt: current.createdAt,
        updatedAt: change.at,
        updatedBy: change.actor,
        deletedAt: change.at,
      },
      change,
    );
    const made = await conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: tombstone,
          ConditionExpression: '#v = :v AND attribute_not_exists(deletedAt)',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': current.version },
        }),
      ),
    );
    if (!made) return false;
    // Deleted and recorded already: a tombstone left behind reads as absent.
    await conditionHeld(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: dashboardKey(current.id),
          ...versionCondition(current.version + 1),
        }),
      ),
    ).catch(() => undefined);
    return true;
  }

  /** True the first time only: the seed marker makes seeding happen once, even after the seeded dashboard is deleted. */
  async claimSeed(now: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...SEED_KEY, seededAt: now },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
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

/** The stamp of a dashboard change: who, why (none asked), in which request, when. */
const changeBy = (user: AuthenticatedUser, meta: RequestMeta, at: string) =>
  lastChangeOf(actorOf(user), null, meta, at);

const canManageShared = (user: AuthenticatedUser) => user.permissions.includes('reports:manage');

/**
 * Dashboards: everyone with charges:read reads the shared ones and keeps their own; only reports:manage creates,
 * changes, shares, unshares or deletes a shared one. Somebody else's own dashboard does not exist for the caller (404).
 * Every change reaches the audit trail (`entityType: "dashboard"`) from the analytics table's stream.
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
      await this.store.put(dashboard, lastChangeOf(SYSTEM_ACTOR, 'Shipped with the installation', {}, now));
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
    if (!(await this.store.put(dashboard, changeBy(user, meta, now)))) {
      throw conflict('A dashboard with this id exists');
    }
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
    if (!(await this.store.put(next, changeBy(user, meta, next.updatedAt), expected))) throw stale();
    return next;
  }

  async delete(id: string, ifMatch: string | undefined, user: AuthenticatedUser, meta: RequestMeta): Promise<void> {
    const expected = parseIfMatch(ifMatch);
    const current = await this.get(id, user);
    this.assertMayChange(current, user);
    const change = changeBy(user, meta, this.clock().toISOString());
    if (current.version !== expected || !(await this.store.delete(current, change))) throw stale();
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
}

const stale = () => new AppError('PRECONDITION_FAILED', 'The dashboard has changed since it was read: read it again');
