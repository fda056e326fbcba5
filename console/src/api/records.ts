import type { components } from '../../../functions/platform/openapi/api-types';

/** The API's audit, user and report types, as the generated OpenAPI document describes them. */
type Schemas = components['schemas'];

export type AuditRecord = Schemas['AuditRecord'] & { signature?: unknown };
export type AuditPage = Schemas['AuditPage'];
export type VerifyResult = Schemas['VerifyResult'];
export type PublicUser = Schemas['PublicUser'];
export type UserPage = Schemas['UserPage'];
export type Role = PublicUser['roles'][number];
export const ROLES: readonly Role[] = ['admin', 'quality_manager', 'operator', 'auditor', 'viewer'];
export type Definition = Schemas['DefinitionView'];
export type DefinitionPage = Schemas['DefinitionPage'];
export type NewDefinition = Schemas['NewDefinition'];
export type Run = Schemas['PublicRun'];
export type RunPage = Schemas['RunPage'];

/** A live session of the signed-in person (a refresh-token family). */
export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt?: string | null;
  current?: boolean;
  userAgent?: string | null;
  sourceIp?: string | null;
}
