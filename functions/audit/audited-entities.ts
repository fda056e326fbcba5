import { auditedDashboards } from '#analytics/audited';
import { auditedCharges } from '#charges/audited';
import { auditedReportDefinitions } from '#reports/audited';
import { auditedServiceAccounts } from '#service-accounts/audited';
import { auditedUsers } from '#users/audited';
import type { AuditedEntity } from './stream-changes';

/**
 * Every entity the audit trail reads from a table stream, as its owning module describes it. An audited table
 * has a stream in functions/platform/tables.ts; its owner stamps each write (functions/audit/attribution.ts) and
 * adds its description here. A table may hold several entities (users and service accounts): each item is one's or none's.
 */
export const AUDITED_ENTITIES: readonly AuditedEntity[] = [
  auditedCharges,
  auditedUsers,
  auditedServiceAccounts,
  auditedReportDefinitions,
  auditedDashboards,
];

/** The description of an audited entity type, if it is one. */
export const auditedEntity = (entityType: string) => AUDITED_ENTITIES.find((e) => e.entityType === entityType);
