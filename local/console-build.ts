import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONSOLE_DIST } from './console';
import { PROJECT_ROOT } from './paths';

const CONSOLE_ROOT = resolve(PROJECT_ROOT, 'console');
/** The OpenAPI types are part of the console's source: a changed API rebuilds it. */
const EXTRA_INPUTS = [resolve(PROJECT_ROOT, 'functions/platform/openapi/api-types.ts')];

function newestIn(dir: string, skip: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (path === skip || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const time = entry.isDirectory() ? newestIn(path, skip) : statSync(path).mtimeMs;
    if (time > newest) newest = time;
  }
  return newest;
}

/** Whether console/dist is missing or older than any file of the console's source. */
export function consoleBuildIsStale(): boolean {
  let built: number;
  try {
    built = statSync(join(CONSOLE_DIST, 'index.html')).mtimeMs;
  } catch {
    return true;
  }
  const newestSource = Math.max(newestIn(CONSOLE_ROOT, CONSOLE_DIST), ...EXTRA_INPUTS.map((f) => statSync(f).mtimeMs));
  return newestSource > built;
}

let building: Promise<void> | undefined;
const LOCK = resolve(CONSOLE_ROOT, '.build-lock');
const LOCK_STALE_MS = 120_000;

/** One build at a time across processes (test workers, `npm start`): a directory is created atomically or not at all. */
async function withLock(run: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed process is taken over once it is clearly too old.
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await run();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Builds the console with Vite when its build is missing or stale (`npm start`, the browser tests); a fresh build
 * is left alone. The build goes to a directory of its own and replaces console/dist in one rename, so a server
 * never serves half a build.
 */
export function ensureConsoleBuilt(log: (line: string) => void = console.log): Promise<void> {
  if (!consoleBuildIsStale()) return Promise.resolve();
  building ??= withLock(async () => {
    // Another process may have built it while this one waited for the lock.
    if (!consoleBuildIsStale()) return;
    log('Building the console (console/dist) …');
    const { build } = await import('vite');
    const outDir = resolve(CONSOLE_ROOT, `.dist-${process.pid}`);
    // React picks its development build when NODE_ENV says so (vitest sets `test`): a build is always production.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: resolve(CONSOLE_ROOT, 'vite.config.ts'), logLevel: 'warn', build: { outDir } });
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
    rmSync(CONSOLE_DIST, { recursive: true, force: true });
    renameSync(outDir, CONSOLE_DIST);
  }).finally(() => {
    building = undefined;
  });
  return building;
}
