/**
 * Roles → permissions (SPEC §3): fixed in code, one table for the authorizer, the handlers, the README
 * and the tests.
 */
export const PERMISSIONS = [
  'charges:read',
  'charges:write',
  'charges:release',
  'charges:delete',
  'audit:read',
  'reports:read',
  'reports:manage',
  'users:manage',
  'keys:rotate',
  'metrics:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'quality_manager', 'operator', 'auditor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  quality_manager: [
    'charges:read',
    'charges:write',
    'charges:release',
    'charges:delete',
    'audit:read',
    'reports:read',
    'reports:manage',
  ],
  operator: ['charges:read', 'charges:write'],
  auditor: ['charges:read', 'audit:read', 'reports:read'],
  viewer: ['charges:read'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The union of the roles' permissions; unknown role names grant nothing. */
export function permissionsFor(roles: readonly string[]): Permission[] {
  const granted = new Set<Permission>();
  for (const role of roles) {
    if (isRole(role)) for (const p of ROLE_PERMISSIONS[role]) granted.add(p);
  }
  return PERMISSIONS.filter((p) => granted.has(p));
}
