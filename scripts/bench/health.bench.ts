import type { BenchReport } from './index';
import { fmt, freePort, load, startProcess, stopProcess } from './support';

const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** GET /status/health through the local server vs a bare node:http server, same run, same load generator. */
export async function run(): Promise<BenchReport> {
  const [apiPort, dynamoPort, barePort] = await Promise.all([freePort(), freePort(), freePort()]);
  const api = await startProcess(
    'scripts/start.ts',
    ['--in-memory'],
    { PORT: String(apiPort), DYNAMODB_LOCAL_PORT: String(dynamoPort) },
    /Charge Records API on/,
  );
  const bare = await startProcess('scripts/bench/bare-server.ts', [], { PORT: String(barePort) }, /bare server ready/);
  try {
    // Warm both up so JIT and the handler's cold start are not measured.
    await load(`http://127.0.0.1:${apiPort}/status/health`, 10, 2);
    await load(`http://127.0.0.1:${barePort}/`, 10, 2);
    const ours = await load(`http://127.0.0.1:${apiPort}/status/health`, CONNECTIONS, SECONDS);
    const floor = await load(`http://127.0.0.1:${barePort}/`, CONNECTIONS, SECONDS);
    const ratio = ours.rps / floor.rps;
    return {
      title: `GET /status/health, local server vs bare node:http (c=${CONNECTIONS}, ${SECONDS} s each)`,
      markdown: [
        '| server | p50 ms | p99 ms | req/s | errors | non-2xx |',
        '|---|---:|---:|---:|---:|---:|',
        `| local server (authorizer-free public route, full middy stack) | ${ours.p50} | ${ours.p99} | ${fmt(ours.rps, 0)} | ${ours.errors} | ${ours.non2xx} |`,
        `| bare node:http | ${floor.p50} | ${floor.p99} | ${fmt(floor.rps, 0)} | ${floor.errors} | ${floor.non2xx} |`,
        '',
        `Throughput ratio local/bare: **${fmt(ratio)}**. Load generator (autocannon) runs in the bench process; each server in its own process.`,
      ].join('\n'),
      targets: [
        { target: 'p99 < 10 ms', met: ours.p99 < 10, measured: `${ours.p99} ms` },
        { target: '≥ 1/3 of the bare server throughput', met: ratio >= 1 / 3, measured: fmt(ratio) },
      ],
    };
  } finally {
    await stopProcess(api);
    await stopProcess(bare);
  }
}
