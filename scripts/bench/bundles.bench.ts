import { spawnSync } from 'node:child_process';
import { childEnv } from '#local/child-env';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import {
  API_BUNDLE_BUDGET_BYTES,
  DEFAULT_CREDENTIAL_CHAIN,
  ESM_REQUIRE_BANNER,
  isApiFunction,
  LAMBDA_CREDENTIALS,
  externalModulesOf,
} from '#lib/constructs/app-function';
import { FUNCTIONS, type FunctionId } from '#platform/routes';
import type { BenchReport } from './index';
import { fmt, percentile, ROOT } from './support';

const RUNS = 7;

/** AppFunction's esbuild settings (lib/constructs/app-function.ts): ESM, minified, ESM-first mainFields, SDK inside, linked source map. */
const LAMBDA_BUILD: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  // Credentials from the environment only, as the CDK bundles (the SDK's default chain aliased away).
  alias: { [DEFAULT_CREDENTIAL_CHAIN]: resolve(ROOT, LAMBDA_CREDENTIALS) },
  logLevel: 'error',
};

/** Milliseconds to `import()` the file in a fresh Node process, with extra Node flags. */
function importMs(file: string, flags: string[]): number {
  const probe = spawnSync(
    process.execPath,
    [
      ...flags,
      '--input-type=module',
      '-e',
      `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`,
    ],
    {
      encoding: 'utf8',
      env: childEnv({
        LOG_LEVEL: 'ERROR',
        AWS_REGION: 'eu-central-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      }),
    },
  );
  if (probe.status !== 0) throw new Error(`import of ${file} failed: ${probe.stderr}`);
  return Number(probe.stdout.trim().split('\n').pop());
}

/** Median import time without and with `--enable-source-maps`, the two alternating run by run so drift hits both. */
function importTimes(file: string): { plain: number; sourceMaps: number } {
  const plain: number[] = [];
  const sourceMaps: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    plain.push(importMs(file, []));
    sourceMaps.push(importMs(file, ['--enable-source-maps']));
  }
  return { plain: percentile(plain, 50), sourceMaps: percentile(sourceMaps, 50) };
}

const kb = (bytes: number) => fmt(bytes / 1000, 0);

/**
 * Each Lambda bundled as the CDK stack bundles it and then imported in fresh Node processes: bundle and source-map
 * size, cold import time as deployed (no source maps at run time) and with `--enable-source-maps` (the stage setting
 * `sourceMapsAtRuntime`). For the two report functions also what esbuild's code splitting would give, which a
 * NodejsFunction cannot deploy (it bundles into a single `index.mjs`).
 */
export async function run(): Promise<BenchReport> {
  const out = resolve(ROOT, '.bench/bundles');
  rmSync(out, { recursive: true, force: true });
  const rows: string[] = [];
  const splitRows: string[] = [];
  const results = new Map<FunctionId, { bytes: number; importMs: number }>();
  for (const [id, fn] of Object.entries(FUNCTIONS) as [FunctionId, (typeof FUNCTIONS)[FunctionId]][]) {
    const dir = join(out, id);
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'index.mjs');
    await build({ ...LAMBDA_BUILD, external: externalModulesOf(id), entryPoints: [resolve(ROOT, fn.entry)], outfile });
    const bytes = statSync(outfile).size;
    const mapBytes = statSync(`${outfile}.map`).size;
    const times = importTimes(outfile);
    results.set(id, { bytes, importMs: times.plain });
    rows.push(
      `| ${id}${isApiFunction(id) ? '' : ' ¹'} | ${kb(bytes)} | ${kb(mapBytes)} | ${fmt(times.plain, 1)} | ${fmt(times.sourceMaps, 1)} | ${fmt(times.sourceMaps / times.plain, 1)} |`,
    );

    if (id === 'reports' || id === 'report-runner') {
      const splitDir = join(out, `${id}-split`);
      await build({
        ...LAMBDA_BUILD,
        external: externalModulesOf(id),
        entryPoints: { index: resolve(ROOT, fn.entry) },
        outdir: splitDir,
        splitting: true,
        outExtension: { '.js': '.mjs' },
      });
      const splitFile = join(splitDir, 'index.mjs');
      const split = importTimes(splitFile);
      splitRows.push(
        `| ${id} | ${kb(bytes)} | ${fmt(times.plain, 1)} | ${kb(statSync(splitFile).size)} | ${fmt(split.plain, 1)} |`,
      );
    }
  }
  const health = results.get('health');
  // reports carries the XLSX and PDF libraries, evaluated on first use (the table above): its own line.
  const overBudget = [...results]
    .filter(([id, r]) => isApiFunction(id) && id !== 'reports' && r.bytes > API_BUNDLE_BUDGET_BYTES)
    .map(([id, r]) => `${id} ${kb(r.bytes)} KB`);
  return {
    title: 'Lambda bundles: size and cold import time (median of 7 fresh processes)',
    markdown: [
      '| function | bundle KB | source map KB | import ms | import ms, `--enable-source-maps` | × |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      '¹ not behind API Gateway. KB = 1000 bytes. Deployed functions run without `--enable-source-maps` unless the',
      'stage sets `sourceMapsAtRuntime` (docs/performance.md).',
      '',
      'The report functions load exceljs and pdf-lib + fontkit on first use (`import()`), still inside the one',
      "`index.mjs`. With esbuild's code splitting, which NodejsFunction cannot produce, the main file would be:",
      '',
      '| function | bundle KB | import ms | split: main file KB | split: import ms |',
      '|---|---:|---:|---:|---:|',
      ...splitRows,
    ].join('\n'),
    targets: [
      ...(health
        ? [
            {
              target: 'health bundle < 300 KB',
              met: health.bytes < 300 * 1000,
              measured: `${kb(health.bytes)} KB`,
            },
            { target: 'health import < 100 ms', met: health.importMs < 100, measured: `${fmt(health.importMs, 1)} ms` },
          ]
        : []),
      {
        target: `every API function's bundle but reports ≤ ${kb(API_BUNDLE_BUDGET_BYTES)} KB`,
        met: overBudget.length === 0,
        measured: overBudget.length === 0 ? 'all within' : `over: ${overBudget.join(', ')}`,
      },
    ],
  };
}
