import { type ComponentType, type LazyExoticComponent, useEffect, useState } from 'react';
import type { MessageKey } from '../i18n/i18n';
import type { Permission } from '../api/types';

/**
 * Hash routing: `/console/#/charges/…`. The server only ever serves index.html and hashed assets, so no SPA
 * fallback is needed (locally or behind CloudFront), and ids in the fragment never reach an access log.
 */
export interface PageProps {
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface RouteDef {
  /** `/charges/:id` — `:name` segments become `params.name`. */
  path: string;
  page: LazyExoticComponent<ComponentType<PageProps>>;
  /** Shown in the navigation with this label, to users holding the permission (none: everyone signed in). */
  nav?: { label: MessageKey; permission?: Permission };
  /** Reachable without a session (forgot password). */
  public?: boolean;
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const hash = location.hash.replace(/^#/, '') || '/';
  const q = hash.indexOf('?');
  return {
    path: q === -1 ? hash : hash.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : hash.slice(q + 1)),
  };
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const on = () => setLoc(current());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return loc;
}

/** A console href for a route path and its query. */
export function href(path: string, query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function navigate(path: string, query?: Record<string, string | undefined>): void {
  location.hash = href(path, query);
}

export function match(
  routes: readonly RouteDef[],
  path: string,
): { route: RouteDef; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    const segs = route.path.split('/').filter(Boolean);
    if (segs.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = segs.every((seg, i) => {
      const part = parts[i] as string;
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(part);
        return true;
      }
      return seg === part;
    });
    if (ok) return { route, params };
  }
  return undefined;
}
