import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { SECURITY_HEADERS } from '#platform/http/headers';
import { PROJECT_ROOT } from './paths';

/** Where the browser console lives on the API's origin (CloudFront routes the same prefix in AWS). */
export const CONSOLE_PATH = '/console';
export const CONSOLE_DIST = resolve(PROJECT_ROOT, 'console/dist');

/**
 * The console's own policy: scripts and styles only from files of this origin (no inline script, no eval), API
 * calls to this origin, no framing. Downloads are blob: URLs; nothing else is loaded from anywhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // React Aria injects one fixed <style> for pressable elements (react-aria-pressable-style): allowed by its hash only.
  // Another React Aria version may change it; the browser tests fail on any CSP violation.
  "style-src 'self' 'sha256-38RhXrc7EdReTKsOm23ZPOCUgniTUUcjky8QOOrQx6o='",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

function headersFor(path: string): Record<string, string> {
  // Vite puts a content hash into every name under assets/: such a file never changes, so browsers keep it.
  // index.html names the current hashes and is checked on every load.
  const immutable = path.startsWith(`${CONSOLE_DIST}${sep}assets${sep}`);
  return {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': CONSOLE_CSP,
    'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  });
  res.end(text);
}

/**
 * Answers GET/HEAD under /console/: the built files, index.html for the folder itself. Routing is in the URL's
 * fragment, so there is no fallback: a path that is not a file is 404. A path that resolves outside the build
 * (`..`, encoded or not, a back slash, a NUL) is refused before the file system is asked.
 */
export async function serveConsole(pathname: string, method: string, res: ServerResponse): Promise<void> {
  if (pathname === CONSOLE_PATH) return plain(res, 301, '', { Location: `${CONSOLE_PATH}/` });
  let relative: string;
  try {
    relative = decodeURIComponent(pathname.slice(CONSOLE_PATH.length + 1));
  } catch {
    return plain(res, 400, 'Bad path');
  }
  if (relative === '') relative = 'index.html';
  const file = resolve(CONSOLE_DIST, relative);
  if (
    !file.startsWith(CONSOLE_DIST + sep) ||
    relative.includes('\0') ||
    relative.includes('\\') ||
    relative.split('/').some((s) => s === '..' || s === '.' || s.startsWith('.'))
  )
    return plain(res, 404, 'Not found');
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return plain(res, 404, 'Not found');
    size = info.size;
  } catch {
    const built = await stat(CONSOLE_DIST).then(
      () => true,
      () => false,
    );
    return built
      ? plain(res, 404, 'Not found')
      : plain(
          res,
          503,
          'The console is not built: npm start builds it, or run npx vite build --config console/vite.config.ts',
        );
  }
  res.writeHead(200, { ...headersFor(file), 'Content-Length': String(size) });
  if (method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}
