import { spawnSync } from 'node:child_process';
import { childEnv } from '#local/child-env';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FUNCTIONS } from '#platform/routes';
import type { BenchReport } from './index';

/**
 * Report exports, each in its own child process (peak RSS is per process): 100 000 charges → CSV and
 * XLSX, 10 000 → PDF, through the production pipeline (paged source → projection → streaming writer →
 * file) and, in the same run, the bare library writing the same rows from an in-memory array; plus the
 * refusal of a PDF list over the limit.
 */
const ROWS = {
  csv: Number(process.env.BENCH_REPORT_ROWS ?? 100_000),
  xlsx: Number(process.env.BENCH_REPORT_ROWS ?? 100_000),
  pdf: Number(process.env.BENCH_REPORT_PDF_ROWS ?? 10_000),
};

interface ChildResult {
  mode: string;
  format: string;
  rows: number;
  bytes?: number;
  seconds: number;
  maxRssMB: number;
  error?: string;
}

function child(mode: 'pipeline' | 'bare', format: string, rows: number): ChildResult {
  const out = join(tmpdir(), `report-bench-${process.pid}.${format}`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'report-child.ts'), mode, format, String(rows), out],
    {
      encoding: 'utf8',
      env: childEnv({ LOG_LEVEL: 'SILENT' }),
    },
  );
  rmSync(out, { force: true });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as ChildResult;
  } catch {
    throw new Error(`report-child ${mode} ${format} failed: ${result.stderr}`);
  }
}

/** Two runs of one export: mean time, the higher peak RSS. */
function pair(a: ChildResult, b: ChildResult): ChildResult {
  return {
    ...a,
    seconds: Number(((a.seconds + b.seconds) / 2).toFixed(2)),
    maxRssMB: Math.max(a.maxRssMB, b.maxRssMB),
  };
}

export async function run(): Promise<BenchReport> {
  const memoryMB = FUNCTIONS.reports.memorySize;
  const lines = [
    '| export | rows | ours: s | ours: peak RSS MB | bare library: s | bare: peak RSS MB | time ratio | file MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const targets: NonNullable<BenchReport['targets']> = [];
  for (const format of ['csv', 'xlsx', 'pdf'] as const) {
    const rows = ROWS[format];
    // Ours, bare, bare, ours: a steady drift in the machine's speed (tens of percent within a minute here)
    // then cancels out of the ratio instead of landing on whichever ran second.
    const ours1 = child('pipeline', format, rows);
    const bare = pair(child('bare', format, rows), child('bare', format, rows));
    const ours = pair(ours1, child('pipeline', format, rows));
    const ratio = ours.seconds / bare.seconds;
    console.log(`${format}: ours ${ours.seconds}s/${ours.maxRssMB}MB, bare ${bare.seconds}s/${bare.maxRssMB}MB`);
    lines.push(
      `| ${format.toUpperCase()} | ${rows} | ${ours.seconds} | ${ours.maxRssMB} | ${bare.seconds} | ${bare.maxRssMB} | ${ratio.toFixed(2)}× | ${((ours.bytes ?? 0) / 1e6).toFixed(1)} |`,
    );
    targets.push({
      target: `${format.toUpperCase()} ${rows} rows within 1.5× of the bare library's time`,
      met: ratio <= 1.5,
      measured: `${ratio.toFixed(2)}×`,
    });
    targets.push({
      target: `${format.toUpperCase()} ${rows} rows under 512 MB peak RSS`,
      met: ours.maxRssMB < 512,
      measured: `${ours.maxRssMB} MB`,
    });
    targets.push({
      target: `${format.toUpperCase()} ${rows} rows within the reports function's ${memoryMB} MB`,
      met: ours.maxRssMB < memoryMB,
      measured: `${ours.maxRssMB} MB`,
    });
  }
  const refused = child('pipeline', 'pdf', 20_001);
  lines.push(
    '',
    `PDF list of 20 001 rows: ${refused.error ?? 'built (!)'} after ${refused.seconds} s at ${refused.maxRssMB} MB peak RSS (the rows are collected before any page is drawn).`,
  );
  targets.push({
    target: 'a PDF list over 20 000 rows → EXPORT_TOO_LARGE',
    met: refused.error === 'EXPORT_TOO_LARGE',
    measured: refused.error ?? 'no error',
  });
  lines.push(
    '',
    "Each time is the mean of two runs, measured ours, bare, bare, ours; peak RSS is the higher of the two. Ours: the production path of `GET /reports/charges.*` and the runner (rows paged 500 at a time as from DynamoDB, projected to typed cells, neutralised, written by our CSV/XLSX/PDF writers to /tmp). Bare: the same rows from an array already in memory, written straight by the library (CSV by hand, exceljs streaming without styles, pdf-lib `drawText` with the same embedded font and fontkit's default layout). DynamoDB itself is not in either number.",
  );
  return { title: 'Report exports (CSV, XLSX, PDF)', markdown: lines.join('\n'), targets };
}
