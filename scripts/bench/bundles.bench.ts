import { spawnSync } from 'node:child_process';
import { childEnv } from '#local/child-env';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '#lib/constructs/app-function';
import { FUNCTIONS, type FunctionId } from '#platform/routes';
import type { BenchReport } from './index';
import { fmt, percentile, ROOT } from './support';

const RUNS = 7;

/**
 * Each Lambda bundled as the CDK stack bundles it (AppFunction's esbuild settings: ESM, minified, ESM-first
 * mainFields, AWS SDK inside) and then imported in a fresh Node process: bundle size and cold import time.
 */
export async function run(): Promise<BenchReport> {
  const out = resolve(ROOT, '.bench/bundles');
  rmSync(out, { recursive: true, force: true });
  const rows: string[] = [];
  const results = new Map<FunctionId, { bytes: number; importMs: number }>();
  for (const [id, fn] of Object.entries(FUNCTIONS) as [FunctionId, (typeof FUNCTIONS)[FunctionId]][]) {
    const dir = join(out, id);
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'index.mjs');
    await build({
      entryPoints: [resolve(ROOT, fn.entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
      logLevel: 'error',
    });
    const bytes = statSync(outfile).size;
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const probe = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const t = performance.now(); await import(${JSON.stringify(outfile)}); console.log(performance.now() - t);`,
        ],
        { encoding: 'utf8', env: childEnv({ LOG_LEVEL: 'ERROR', AWS_REGION: 'eu-central-1' }) },
      );
      if (probe.status !== 0) throw new Error(`import of ${id} failed: ${probe.stderr}`);
      times.push(Number(probe.stdout.trim().split('\n').pop()));
    }
    const importMs = percentile(times, 50);
    results.set(id, { bytes, importMs });
    rows.push(`| ${id} | ${fmt(bytes / 1024, 0)} | ${fmt(importMs, 1)} |`);
  }
  const health = results.get('health');
  return {
    title: 'Lambda bundles: size and cold import time (median of 7 fresh processes)',
    markdown: ['| function | bundle KiB | import ms |', '|---|---:|---:|', ...rows].join('\n'),
    targets: health
      ? [
          {
            target: 'health bundle < 300 KB',
            met: health.bytes < 300 * 1000,
            measured: `${fmt(health.bytes / 1000, 0)} KB`,
          },
          { target: 'health import < 100 ms', met: health.importMs < 100, measured: `${fmt(health.importMs, 1)} ms` },
        ]
      : [],
  };
}
