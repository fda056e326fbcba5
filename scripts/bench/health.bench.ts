import type { BenchReport } from './index';
import { fmt, freePort, load, type LoadResult, startProcess, stopProcess } from './support';

const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 5;

/**
 * GET /status/health through the local server (`npm start`, with DynamoDB Local, the stream poller and
 * the scheduler running) vs bare node:http servers with the same body, same run, same load generator.
 * The floor sends the headers every API response carries too, so both answer byte for byte alike
 * in size; a second bare server with only Content-Type shows what those headers cost by themselves.
 */
export async function run(): Promise<BenchReport> {
  const [apiPort, dynamoPort, barePort, minimalPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const api = await startProcess(
    'local/start.ts',
    ['--in-memory'],
    { PORT: String(apiPort), DYNAMODB_LOCAL_PORT: String(dynamoPort) },
    /Charge Records API on/,
  );
  const bare = await startProcess(
    'scripts/bench/bare-server.ts',
    [],
    { PORT: String(barePort), BARE_HEADERS: 'spec' },
    /bare server ready/,
  );
  const minimal = await startProcess(
    'scripts/bench/bare-server.ts',
    [],
    { PORT: String(minimalPort) },
    /bare server ready/,
  );
  try {
    const urls = {
      ours: `http://127.0.0.1:${apiPort}/status/health`,
      bare: `http://127.0.0.1:${barePort}/`,
      minimal: `http://127.0.0.1:${minimalPort}/`,
    };
    // Warm every server up at the measured load, so neither V8's nor DynamoDB Local's JIT (it compiles the
    // stream poller's calls in the first seconds) nor the handler's cold start is measured.
    for (const url of Object.values(urls)) await load(url, CONNECTIONS, WARMUP_SECONDS);
    // This machine's speed drifts by tens of percent within a minute: measuring ours, floor, floor, ours
    // (each a full run) cancels a steady drift out of the ratio. The p99 reported is the worse of our two runs.
    const ours1 = await load(urls.ours, CONNECTIONS, SECONDS);
    const floor1 = await load(urls.bare, CONNECTIONS, SECONDS);
    const floor2 = await load(urls.bare, CONNECTIONS, SECONDS);
    const ours2 = await load(urls.ours, CONNECTIONS, SECONDS);
    const reference = await load(urls.minimal, CONNECTIONS, SECONDS);
    const ours = combine(ours1, ours2);
    const floor = combine(floor1, floor2);
    const ratio = ours.rps / floor.rps;
    const row = (name: string, r: LoadResult) =>
      `| ${name} | ${r.p50} | ${r.p99} | ${fmt(r.rps, 0)} | ${r.errors} | ${r.non2xx} |`;
    return {
      title: `GET /status/health, local server vs bare node:http (c=${CONNECTIONS}, ${SECONDS} s per run)`,
      markdown: [
        '| server | p50 ms | p99 ms | req/s | errors | non-2xx |',
        '|---|---:|---:|---:|---:|---:|',
        row(
          'local server, run 1 (`npm start`: public route, full middy + Powertools stack, per-invocation store)',
          ours1,
        ),
        row('bare node:http, same body and the API headers (the floor), run 1', floor1),
        row('bare node:http, the floor, run 2', floor2),
        row('local server, run 2', ours2),
        row('bare node:http, same body, Content-Type only (reference)', reference),
        '',
        `Throughput ratio local/floor (mean of two runs each): **${fmt(ratio)}**; local/reference: ${fmt(ours.rps / reference.rps)}.`,
        `Local server p99 (the worse run): **${ours.p99} ms**.`,
        'The load generator (autocannon) runs in the bench process, each server in its own process, one run at a time, in the order of the table.',
      ].join('\n'),
      targets: [
        { target: 'p99 < 10 ms', met: ours.p99 < 10, measured: `${ours.p99} ms` },
        { target: '≥ 1/3 of the bare server throughput (same response)', met: ratio >= 1 / 3, measured: fmt(ratio) },
      ],
    };
  } finally {
    await stopProcess(api);
    await stopProcess(bare);
    await stopProcess(minimal);
  }
}

/** Two runs of one server: mean throughput, the worse tail. */
function combine(a: LoadResult, b: LoadResult): LoadResult {
  return {
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    rps: (a.rps + b.rps) / 2,
    errors: a.errors + b.errors,
    non2xx: a.non2xx + b.non2xx,
  };
}
