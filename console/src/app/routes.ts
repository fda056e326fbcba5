import { lazy } from 'react';
import type { RouteDef } from './router';

/**
 * Every page of the console, each its own chunk (loaded on first visit), so the sign-in page stays small.
 * A new page: a component taking `PageProps` in src/pages/, one line here, its labels in both dictionaries.
 * Static paths before parameter paths (`/charges/new` before `/charges/:id`): the first match wins.
 */
export const ROUTES: readonly RouteDef[] = [
  {
    path: '/charges',
    page: lazy(() => import('../pages/ChargesList')),
    nav: { label: 'nav.charges', permission: 'charges:read' },
  },
  { path: '/charges/new', page: lazy(() => import('../pages/ChargeCreate')) },
  { path: '/charges/:id', page: lazy(() => import('../pages/ChargeDetail')) },
  { path: '/charges/:id/compare', page: lazy(() => import('../pages/ChargeCompare')) },
  {
    path: '/audit',
    page: lazy(() => import('../pages/AuditExplorer')),
    nav: { label: 'nav.audit', permission: 'audit:read' },
  },
  {
    path: '/reports',
    page: lazy(() => import('../pages/Reports')),
    nav: { label: 'nav.reports', permission: 'reports:read' },
  },
  {
    path: '/dashboards',
    page: lazy(() => import('../pages/Dashboards')),
    nav: { label: 'nav.dashboards', permission: 'charges:read' },
  },
  {
    path: '/users',
    page: lazy(() => import('../pages/Users')),
    nav: { label: 'nav.users', permission: 'users:manage' },
  },
  { path: '/dashboards/:id', page: lazy(() => import('../pages/Dashboards')) },
  { path: '/reports/runs/:id', page: lazy(() => import('../pages/ReportRun')) },
  { path: '/account', page: lazy(() => import('../pages/Account')), nav: { label: 'nav.account' } },
  { path: '/forgot-password', page: lazy(() => import('../pages/ForgotPassword')), public: true },
  { path: '/reset', page: lazy(() => import('../pages/ResetPassword')), public: true },
];

export const HOME = '/charges';
