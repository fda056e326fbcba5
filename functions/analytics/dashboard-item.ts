/**
 * What the audit trail needs to know of a stored dashboard, apart from the store (which brings the analytics model):
 * its entity name, key, and the storage attributes the attribution MAC does not cover.
 */
export const DASHBOARD_ENTITY = 'dashboard';

/** Dashboards live in one partition of their table: there are few, and a list reads them all. */
export const DASHBOARD_PK = 'DASH';

export const dashboardKey = (id: string) => ({ pk: DASHBOARD_PK, sk: id });

/** Storage attributes of a dashboard item the attribution MAC does not cover (its key). */
export const DASHBOARD_UNSIGNED_FIELDS: ReadonlySet<string> = new Set(['pk', 'sk']);
