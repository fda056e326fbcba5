import * as z from '#platform/zod';
import type { Permission } from '#platform/permissions';
import { wellFormedString } from '#platform/well-formed';

/**
 * Service accounts: machine identities (a Prometheus scraper, an ERP import) that get access tokens by the
 * OAuth 2.0 client-credentials grant. They live in the users table under their own key and `kind`, so user
 * lists, the admin count and password sign-in never see them, and the authorizer reads their current state on
 * every request as it does a user's.
 */

/** What a machine may be granted: reading, never changing. */
export const SERVICE_ACCOUNT_PERMISSIONS = [
  'metrics:read',
  'charges:read',
  'reports:read',
] as const satisfies readonly Permission[];
export type ServiceAccountPermission = (typeof SERVICE_ACCOUNT_PERMISSIONS)[number];

/** A service account's id, which is also its OAuth `client_id` and its tokens' `sub`: never a user id (a UUID). */
export const SERVICE_ACCOUNT_ID = /^sa-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isServiceAccountId = (id: string) => SERVICE_ACCOUNT_ID.test(id);
export {
  SERVICE_ACCOUNT_ENTITY,
  SERVICE_ACCOUNT_KIND,
  SERVICE_ACCOUNT_UNSIGNED_FIELDS,
  serviceAccountPk,
} from './account-item';

/** The stored item (users table). `secretHash` is SHA-256 of the secret; `credentialId` names the current secret. */
export interface ServiceAccount {
  serviceAccountId: string;
  name: string;
  permissions: ServiceAccountPermission[];
  secretHash?: string;
  /** Changes with every secret: a token carries it (`sid`), so rotating or deleting ends the old tokens. */
  credentialId?: string;
  createdAt: string;
  createdBy: { userId: string; username: string };
  secretRotatedAt: string;
  deletedAt?: string;
  version: number;
}

const Reason = wellFormedString().check(z.minLength(3), z.maxLength(500));

export const ServiceAccountPermission = z.enum(SERVICE_ACCOUNT_PERMISSIONS);
export const ServiceAccountActor = z.object({ userId: z.string(), username: z.string() });

export const CreateServiceAccountBody = z
  .strictObject({
    name: wellFormedString().check(
      z.minLength(1),
      z.maxLength(64),
      z.regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'Letters, digits, space, dot, underscore and hyphen'),
    ),
    permissions: z.array(ServiceAccountPermission).check(
      z.minLength(1),
      z.maxLength(SERVICE_ACCOUNT_PERMISSIONS.length),
      z.refine((p) => new Set(p).size === p.length, 'Each permission once'),
    ),
    reason: Reason,
  })
  .check(
    z.meta({
      examples: [{ name: 'prometheus', permissions: ['metrics:read'], reason: 'Monitoring scrapes /metrics' }],
    }),
  );

export const ServiceAccountReasonBody = z
  .strictObject({ reason: Reason })
  .check(z.meta({ examples: [{ reason: 'Scraper moved to the new monitoring cluster' }] }));

export const PublicServiceAccount = z.object({
  serviceAccountId: z.string().check(z.describe('Also the OAuth `client_id`.')),
  clientId: z.string(),
  name: z.string(),
  permissions: z.array(ServiceAccountPermission),
  createdAt: z.string(),
  createdBy: ServiceAccountActor,
  secretRotatedAt: z.string(),
});
export type PublicServiceAccount = z.infer<typeof PublicServiceAccount>;

export const ServiceAccountCredentials = z.extend(PublicServiceAccount, {
  clientSecret: z.string().check(z.describe('Shown this once; only its hash is stored.')),
});
export type ServiceAccountCredentials = z.infer<typeof ServiceAccountCredentials>;

export const ServiceAccountList = z.object({ items: z.array(PublicServiceAccount) });

/** RFC 6749 §4.4.2, as form fields or JSON; the client may authenticate with HTTP Basic instead (§2.3.1). */
export const TokenRequest = z.strictObject({
  grant_type: z.literal('client_credentials'),
  client_id: z.optional(wellFormedString().check(z.minLength(1), z.maxLength(128))),
  client_secret: z.optional(wellFormedString().check(z.minLength(1), z.maxLength(256))),
  /** Space-separated permissions, each one the account holds; absent: all of them. */
  scope: z.optional(z.string().check(z.maxLength(256))),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

/** RFC 6749 §5.1. */
export const ClientTokenResponse = z.object({
  access_token: z.string().check(z.describe('A JWT (RS256) for `Authorization: Bearer …`.')),
  token_type: z.literal('Bearer'),
  expires_in: z.int(),
  scope: z.string().check(z.describe("The account's permissions, space-separated.")),
});
export type ClientTokenResponse = z.infer<typeof ClientTokenResponse>;

export function toPublic(account: ServiceAccount): PublicServiceAccount {
  return {
    serviceAccountId: account.serviceAccountId,
    clientId: account.serviceAccountId,
    name: account.name,
    permissions: account.permissions,
    createdAt: account.createdAt,
    createdBy: account.createdBy,
    secretRotatedAt: account.secretRotatedAt,
  };
}
