import * as z from '#platform/zod';
import { ROLES } from '#platform/permissions';
import { wellFormedString } from '#platform/well-formed';
import { PASSWORD_MAX_LENGTH } from './passwords';
import type { Role } from '#platform/permissions';
import { usernameKey } from '#platform/username';
import { page } from '#platform/http/response-schemas';

/** A user as stored in the `users` table (`pk = "user#<userId>"`). */
export interface User {
  userId: string;
  username: string;
  /** Argon2id hash; absent for OIDC users, who have no local password. */
  passwordHash?: string;
  roles: Role[];
  disabled: boolean;
  /** `local`, or `oidc:<issuer>` for users created on first sight of an external token. */
  source: string;
  email?: string;
  displayName?: string;
  /**
   * Epoch milliseconds: sessions (refresh families) begun before this are dead, and so are their access
   * tokens (revoke-tokens, password change, disable). Tokens without a session compare their `iat`.
   */
  tokensValidAfter: number;
  /** A session (refresh family) exempt from `tokensValidAfter`: the caller's own session on password change. */
  tokensValidAfterExceptSession?: string;
  /** Hashes of the last PASSWORD_HISTORY passwords before the current one, newest first: a new one must differ. */
  passwordHistory?: string[];
  /**
   * Set by an administrator's password reset: the password is temporary. It signs in once
   * (`temporaryPasswordUsedAt` then set), and that session can only set a new password.
   */
  passwordChangeRequired?: boolean;
  temporaryPasswordUsedAt?: string;
  /** TOTP shared secret (base32) once enrolment is confirmed; never returned, redacted from the audit trail. */
  mfaSecret?: string;
  /** A secret handed out by `POST /users/me/mfa` and not yet confirmed with a code. */
  mfaPendingSecret?: string;
  /** When MFA enrolment was confirmed. */
  mfaEnrolledAt?: string;
  /** SHA-256 of each unused recovery code. */
  recoveryCodeHashes?: string[];
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  /** Who/why of the last change, for the audit trail written from the users stream. */
  updatedByName?: string;
  requestId?: string;
  reason?: string;
}

/**
 * Where a user's roles come from. `identity-provider`: an SSO user's, mapped from their token on every request
 * (`rolesClaim` through `roleMap`) and never stored, so the `roles` of the stored user are empty and say nothing.
 */
export type RolesFrom = 'local' | 'identity-provider';

/** An SSO user (`source: "oidc:<issuer>"`), created on first sight of an external token. */
export const isExternal = (user: Pick<User, 'source'>) => user.source.startsWith('oidc:');

/**
 * What the last-admin rule counts: a local user who can sign in and holds `admin`. An SSO admin does not count —
 * their admin role lasts only as long as the IdP's groups and the `OIDC_PROVIDERS` mapping do.
 */
export const isEnabledLocalAdmin = (user: Pick<User, 'source' | 'disabled' | 'roles'>) =>
  user.source === 'local' && !user.disabled && user.roles.includes('admin');

/**
 * What the API returns about a user: never the hash or token state. Its example is registered on the schema itself
 * rather than added as a `z.meta` check: `z.extend` carries checks over, and `Me` must not take on this example.
 */
export const PublicUser = z
  .object({
    userId: z.uuid(),
    username: z.string(),
    roles: z
      .array(z.enum(ROLES))
      .check(z.describe("The stored roles: always empty for an SSO user, whose roles are the token's (`rolesFrom`).")),
    rolesFrom: z.enum(['local', 'identity-provider']),
    disabled: z.boolean(),
    source: z
      .string()
      .check(z.describe('`local`, or `oidc:<issuer>` for a user created on first sight of an external token.')),
    email: z.optional(z.string()),
    displayName: z.optional(z.string()),
    version: z.int().check(z.minimum(1)),
    createdAt: z.iso.datetime(),
    createdBy: z
      .string()
      .check(z.describe('The id of the user who created this one (`system` for the bootstrap admin).')),
    updatedAt: z.iso.datetime(),
    updatedBy: z.string(),
  })
  .register(z.globalRegistry, {
    examples: [
      {
        userId: '0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c',
        username: 'qa.lead',
        roles: ['quality_manager'],
        rolesFrom: 'local',
        disabled: false,
        source: 'local',
        email: 'qa.lead@example.com',
        displayName: 'QA Lead',
        version: 1,
        createdAt: '2026-05-02T10:00:00.000Z',
        createdBy: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
        updatedAt: '2026-05-02T10:00:00.000Z',
        updatedBy: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
      },
    ],
  });
export type PublicUser = z.infer<typeof PublicUser>;

export const UserPage = page(PublicUser);

export function toPublicUser(user: User): PublicUser {
  return {
    userId: user.userId,
    username: user.username,
    roles: user.roles,
    rolesFrom: isExternal(user) ? 'identity-provider' : 'local',
    disabled: user.disabled,
    source: user.source,
    ...(user.email !== undefined ? { email: user.email } : {}),
    ...(user.displayName !== undefined ? { displayName: user.displayName } : {}),
    version: user.version,
    createdAt: user.createdAt,
    createdBy: user.createdBy,
    updatedAt: user.updatedAt,
    updatedBy: user.updatedBy,
  };
}

export const userPk = (userId: string) => `user#${userId}`;
export const usernameClaimPk = (username: string) => `username#${usernameKey(username)}`;
export const oidcClaimPk = (issuer: string, subject: string) => `oidc#${issuer}#${subject}`;

// Request bodies of the users routes.

/**
 * A display name, for `POST /users`, `PATCH /users/{id}` and `PATCH /users/me` alike: one line of well-formed text.
 * It is shown next to records and lands on the audit trail; a NUL or a line break there would split what a reader sees.
 */
export const DisplayName = wellFormedString().check(
  z.trim(),
  z.minLength(1),
  z.maxLength(128),
  z.regex(/^[^\p{Cc}\u2028\u2029]*$/u, 'One line without control characters'),
);

const Roles = z.array(z.enum(ROLES)).check(
  z.maxLength(ROLES.length),
  z.refine((r) => new Set(r).size === r.length, 'Duplicate role'),
);
const Username = z
  .string()
  .check(z.minLength(3), z.maxLength(64), z.regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only'));

/**
 * Why an administrator changes an account: required on every user-admin change (3–500 characters, at least 3 of
 * them visible, no control characters but line breaks and tabs), kept on the item's `lastChange` and the audit record.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export const ChangeReason = wellFormedString().check(
  z.minLength(3),
  z.maxLength(1000),
  z.refine((s) => !CONTROL.test(s), { message: 'No control characters' }),
  z.refine((s) => [...s.replace(/[\s\p{Cc}\p{Cf}\p{Z}]/gu, '')].length >= 3, {
    message: 'At least 3 visible characters',
  }),
  z.refine((s) => [...s].length <= 500, { message: 'At most 500 characters' }),
  z.describe('Why: 3–500 characters, kept on the audit record.'),
);

export const CreateUserBody = z
  .strictObject({
    username: Username,
    password: z.string().check(z.minLength(1), z.maxLength(PASSWORD_MAX_LENGTH * 4)),
    roles: Roles,
    email: z.optional(z.email().check(z.maxLength(254))),
    displayName: z.optional(DisplayName),
    passwordChangeRequired: z.optional(z.boolean()).check(
      z.meta({
        description:
          'true: the password is an initial one that signs in once, and only to set a new password (the console ' +
          'sends true; the person chooses their own at the first sign-in)',
      }),
    ),
    reason: ChangeReason,
  })
  .check(
    z.meta({
      examples: [
        {
          username: 'qa.lead',
          password: 'correct horse battery staple',
          roles: ['quality_manager'],
          email: 'qa.lead@example.com',
          displayName: 'QA Lead',
          reason: 'New QA lead, ticket HR-1042',
        },
      ],
    }),
  );
export const PatchUserBody = z
  .strictObject({
    roles: z.optional(Roles),
    disabled: z.optional(z.boolean()),
    email: z.optional(z.email().check(z.maxLength(254))),
    displayName: z.optional(DisplayName),
    reason: ChangeReason,
  })
  .check(
    z.refine((b) => Object.keys(b).some((k) => k !== 'reason'), { message: 'Nothing to change' }),
    z.meta({ examples: [{ roles: ['quality_manager', 'auditor'], reason: 'Takes over the periodic reviews' }] }),
  );

/** `DELETE /users/{id}` and `POST /users/{id}/password-reset`: only the reason. */
export const ReasonBody = z
  .strictObject({ reason: ChangeReason })
  .check(z.meta({ examples: [{ reason: 'Left the company, ticket HR-1077' }] }));

export const TemporaryPassword = z
  .object({
    temporaryPassword: z
      .string()
      .check(z.describe('Give it to the user by a safe way: it signs in once, and only to set a new password.')),
  })
  .check(z.meta({ examples: [{ temporaryPassword: 'Xq7mKp2vRt9wZb4nHc8d' }] }));
