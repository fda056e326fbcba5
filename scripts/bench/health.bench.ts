import type { BenchReport } from './index';
import { fmt, freePort, load, type LoadResult, startProcess, stopProcess } from './support';

const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/**
 * GET /status/health through the local server (`npm start`, with DynamoDB Local, the stream poller and
 * the scheduler running) vs bare node:http servers with the same body, same run, same load generator.
 * The floor sends the headers SPEC §4 requires on every response too, so both answer byte for byte alike
 * in size; a second bare server with only Content-Type shows what those headers cost by themselves.
 */
export async function run(): Promise<BenchReport> {
  const [apiPort, dynamoPort, barePort, minimalPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const api = await startProcess(
    'scripts/start.ts',
    ['--in-memory'],
    { PORT: String(apiPort), DYNAMODB_LOCAL_PORT: String(dynamoPort) },
    /Charge Records API on/,
  );
  const bare = await startProcess('scripts/bench/bare-server.ts', [], { PORT: String(barePort), BARE_HEADERS: 'spec' }, /bare server ready/);
  const minimal = await startProcess('scripts/bench/bare-server.ts', [], { PORT: String(minimalPort) }, /bare server ready/);
  try {
    const urls = {
      ours: `http://127.0.0.1:${apiPort}/status/health`,
      bare: `http://127.0.0.1:${barePort}/`,
      minimal: `http://127.0.0.1:${minimalPort}/`,
    };
    // Warm every server up so JIT and the handler's cold start are not measured.
    for (const url of Object.values(urls)) await load(url, 10, 2);
    const ours = await load(urls.ours, CONNECTIONS, SECONDS);
    const floor = await load(urls.bare, CONNECTIONS, SECONDS);
    const reference = await load(urls.minimal, CONNECTIONS, SECONDS);
    const ratio = ours.rps / floor.rps;
    const row = (name: string, r: LoadResult) =>
      `| ${name} | ${r.p50} | ${r.p99} | ${fmt(r.rps, 0)} | ${r.errors} | ${r.non2xx} |`;
    return {
      title: `GET /status/health, local server vs bare node:http (c=${CONNECTIONS}, ${SECONDS} s each)`,
      markdown: [
        '| server | p50 ms | p99 ms | req/s | errors | non-2xx |',
        '|---|---:|---:|---:|---:|---:|',
        row('local server (`npm start`: public route, full middy + Powertools stack, per-invocation store)', ours),
        row('bare node:http, same body and the SPEC §4 headers (the floor)', floor),
        row('bare node:http, same body, Content-Type only (reference)', reference),
        '',
        `Throughput ratio local/floor: **${fmt(ratio)}**; local/reference: ${fmt(ours.rps / reference.rps)}.`,
        'The load generator (autocannon) runs in the bench process, each server in its own process, one after another.',
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
