/**
 * `npm run bench [name…]`: runs the benchmark modules of this folder (`<name>.bench.ts`, each exporting
 * `run(): Promise<BenchReport>`) one after another, prints their tables and writes them, with the machine
 * they ran on, to docs/benchmarks.md. Ratios are computed within one run, never against stored numbers.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchReport {
  title: string;
  /** Markdown table (or lines) with the measurements. */
  markdown: string;
  /** One line per target: whether this run met it. */
  targets?: { target: string; met: boolean; measured: string }[];
  /** Only part of the benchmark ran (a `BENCH_<NAME>_ONLY` filter): printed, not written to docs/benchmarks.md. */
  partial?: boolean;
}

const here = import.meta.dirname;
const docPath = resolve(here, '../../docs/benchmarks.md');
const wanted = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace('.bench.ts', ''))
  .sort();
const modules = available.filter((name) => wanted.length === 0 || wanted.includes(name));

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
const sections = new Map<string, string>();
if (existsSync(docPath)) {
  // Keep the sections of benchmarks not run this time.
  const old = readFileSync(docPath, 'utf8');
  for (const part of old.split(/^<!-- bench:/m).slice(1)) {
    const name = part.slice(0, part.indexOf(' -->'));
    sections.set(name, `<!-- bench:${part.trimEnd()}\n`);
  }
}

for (const name of modules) {
  console.log(`\n## ${name}`);
  const mod = (await import(pathToFileURL(resolve(here, `${name}.bench.ts`)).href)) as { run(): Promise<BenchReport> };
  const loadBefore = loadavg()[0]!;
  const report = await mod.run();
  const targets = (report.targets ?? [])
    .map((t) => `- ${t.met ? '✅' : '❌'} ${t.target} — measured ${t.measured}`)
    .join('\n');
  const section = `<!-- bench:${name} -->\n## ${report.title}\n\nRun ${new Date().toISOString()} on ${machine}; load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.\n\n${report.markdown}\n\n${targets}\n`;
  console.log(section);
  if (!report.partial) sections.set(name, section);
}

const header = `# Benchmarks\n\nProduced by \`npm run bench\` (or \`npm run bench -- <name>\` for one of: ${available.join(', ')}).\nEach section names the machine and time it ran; comparisons are ratios within the same run.\n\n`;
writeFileSync(
  docPath,
  header +
    [...sections.keys()]
      .sort()
      .map((k) => sections.get(k))
      .join('\n'),
);
console.log(`\nWritten to ${docPath}`);
process.exit(0);
