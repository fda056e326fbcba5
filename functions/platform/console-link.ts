import { config } from './config';

/**
 * The console's address in mailed links. It comes from configuration (CONSOLE_BASE_URL, else PUBLIC_BASE_URL), never
 * from a request's Host header, so no caller can make a mail point somewhere else.
 */
export function consoleBaseUrl(): string {
  const cfg = config();
  return (cfg.CONSOLE_BASE_URL ?? cfg.PUBLIC_BASE_URL ?? `http://127.0.0.1:${cfg.PORT}`).replace(/\/+$/, '');
}

/** A console page (`/reports/runs/<id>`) as a link: the route is a fragment, so it never reaches a server log. */
export const consoleLink = (route: string) => `${consoleBaseUrl()}/console/#${route}`;
