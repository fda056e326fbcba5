import { utimesSync } from 'node:fs';
import { resolve } from 'node:path';
import { apiClient } from '#scripts/api-client';
import type { BenchReport } from './index';
import { fmt, freePort, percentile, ROOT, startProcess, stopProcess } from './support';

const RELOADS = Number(process.env.BENCH_RELOADS ?? 8);
/** Time between saves: a developer reads the answer before saving again, and the standby warms up meanwhile. */
const PAUSE_MS = 3_000;
const SAVED_FILE = resolve(ROOT, 'functions/ops/health.ts');

/**
 * `npm run dev`: from saving a handler file until the API answers from the new code. Each save touches a
 * handler (new mtime, same content); the clock stops at the first 200 after the supervisor reports that
 * the new generation takes requests, so the new code's first-request import is included.
 */
export async function run(): Promise<BenchReport> {
  const [port, dynamoPort] = await Promise.all([freePort(), freePort()]);
  const dev = await startProcess(
    'local/dev.ts',
    ['--in-memory'],
    { PORT: String(port), DYNAMODB_LOCAL_PORT: String(dynamoPort) },
    /Charge Records API on/,
  );
  let output = '';
  dev.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  const reloadsSeen = () => output.match(/Reloaded: /g)?.length ?? 0;
  const health = apiClient(`http://127.0.0.1:${port}`);
  const times: number[] = [];
  try {
    for (let i = 0; i < RELOADS; i++) {
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      const seen = reloadsSeen();
      const started = performance.now();
      const now = new Date();
      utimesSync(SAVED_FILE, now, now);
      while (reloadsSeen() === seen) await new Promise((r) => setTimeout(r, 5));
      const { response } = await health.GET('/status/health');
      if (response.status !== 200) throw new Error(`health answered ${response.status} after a reload`);
      times.push(performance.now() - started);
    }
  } finally {
    await stopProcess(dev);
  }
  const p50 = percentile(times, 50);
  const max = Math.max(...times);
  return {
    title: `npm run dev: save → the API answers from the new code (${RELOADS} saves, ${PAUSE_MS / 1000} s apart)`,
    markdown: [
      '| p50 ms | max ms | every reload, ms |',
      '|---:|---:|---|',
      `| ${fmt(p50, 0)} | ${fmt(max, 0)} | ${times.map((t) => fmt(t, 0)).join(', ')} |`,
      '',
      'The supervisor keeps DynamoDB Local and the port; a standby worker with the dependencies loaded imports the changed code and takes the next request, then the old worker stops.',
    ].join('\n'),
    targets: [{ target: 'reload < 1 s', met: max < 1000, measured: `p50 ${fmt(p50, 0)} ms, max ${fmt(max, 0)} ms` }],
  };
}
