import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES, type TableDefinition } from '#platform/tables';
import { contributions, decisionDelta, decisionOf, type ItemDelta, mergeDeltas } from '#analytics/aggregates';
import { QA_OVERVIEW_WIDGETS } from '#analytics/dashboards';
import { SCAN_SEGMENTS } from '#analytics/rebuild';
import { childEnv } from '#local/child-env';
import { createTableInput } from '#local/tables';
import { apiClient } from '#scripts/api-client';
import type { BenchReport } from './index';
import { fmt, percentile, ROOT, startBenchServer, stopProcess } from './support';

/**
 * Analytics: (1) the QA overview dashboard's queries at 10 000, 100 000 and 500 000 charges — the query cost depends on
 * the aggregate items in the range, not on charges, so each size's history is written as the aggregate items it
 * produces (computed with the consumer's own delta code), not as charges; (2) the stream consumer's lag while charges
 * are written at a fixed rate; (3) `analytics:rebuild` over charges tables of REBUILD_SIZES charges, measured at each
 * size (time, peak RSS and heap of the rebuild in its own process). PARTS picks sections (`queries,lag,rebuild`).
 */
const PARTS = new Set((process.env.BENCH_ANALYTICS_PARTS ?? 'queries,lag,rebuild').split(','));
const SIZES = (process.env.BENCH_ANALYTICS_SIZES ?? '10000,100000,500000').split(',').map(Number);
const QUERY_RUNS = Number(process.env.BENCH_ANALYTICS_QUERY_RUNS ?? 15);
/** 10 000 writes at 50/s: 200 s of steady load on the consumer. */
const LAG_WRITES = Number(process.env.BENCH_ANALYTICS_LAG_WRITES ?? 10_000);
const LAG_RATE = Number(process.env.BENCH_ANALYTICS_LAG_RATE ?? 50);
/** 500 000 charges seed 1.4 million items: minutes on a quiet machine; set fewer on a shared one. */
const REBUILD_SIZES = (process.env.BENCH_REBUILD_CHARGES ?? '20000,100000,500000').split(',').map(Number);
/** BatchWrites in flight while seeding: DynamoDB Local shares the machine's two cores with this process. */
const SEED_PARALLELISM = Number(process.env.BENCH_REBUILD_SEED_PARALLELISM ?? 4);
/** Another module exporting `rebuild` (e.g. an earlier version), measured on the same tables for comparison. */
const REBUILD_BASELINE = process.env.BENCH_REBUILD_BASELINE;
const ADMIN_PASSWORD = 'bench-admin-password-analytics';
const ARTICLES = 20;
const DAY_MS = 86_400_000;
/** Histories span the year up to this day: the dashboard's windows (P30D, P90D, P26W) end here. */
const TODAY = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const actor = { userId: 'bench', username: 'bench' };

/** Charge i of a synthetic year: deterministic, so a smaller history is the start of a larger one. */
function charge(i: number, n: number) {
  const day = TODAY - Math.floor((i / n) * 365) * DAY_MS;
  const productionDate = new Date(day).toISOString().slice(0, 10);
  const fate = i % 10;
  const decidedAt = new Date(day + (1 + (i % 20)) * DAY_MS).toISOString();
  const base = {
    chargeId: `bench-${i}`,
    sk: 'CHARGE',
    articleId: `ART-${(i * 7) % ARTICLES}`,
    quantity: 1 + (i % 1000) / 8,
    unit: i % 3 === 0 ? 'pcs' : 'kg',
    productionDate,
    updatedAt: new Date(day).toISOString(),
  };
  const quarantine = { ...base, status: 'quarantine' };
  if (fate < 2) return [quarantine];
  if (fate < 3) return [quarantine, { ...quarantine, status: 'rejected', updatedAt: decidedAt }];
  return [quarantine, { ...quarantine, status: 'released', updatedAt: decidedAt }];
}

/** The aggregate items a history of n charges produces. */
function aggregatesOf(n: number): ItemDelta[] {
  let parts: ItemDelta[] = [];
  for (let i = 0; i < n; i++) {
    const versions = charge(i, n);
    const last = versions.at(-1);
    parts.push(...contributions(last));
    for (let v = 1; v < versions.length; v++) {
      const d = decisionOf(versions[v - 1], versions[v]);
      if (d) parts.push(decisionDelta(d));
    }
    if (parts.length > 100_000) parts = mergeDeltas(parts);
  }
  return mergeDeltas(parts);
}

async function batchPut(db: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]): Promise<void> {
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < chunks.length) {
        let pending: Record<string, unknown>[] = chunks[next++] as Record<string, unknown>[];
        while (pending.length > 0) {
          const out = await db.send(
            new BatchWriteCommand({ RequestItems: { [table]: pending.map((Item) => ({ PutRequest: { Item } })) } }),
          );
          pending = (out.UnprocessedItems?.[table] ?? []).map((r) => r.PutRequest?.Item as Record<string, unknown>);
        }
      }
    }),
  );
}

async function server() {
  const { child, base, endpoint, raw } = await startBenchServer(ADMIN_PASSWORD);
  const login = await apiClient(base).POST('/auth/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
  if (!login.data) throw new Error(`login failed: ${login.response.status}`);
  return { child, base, endpoint, raw, db: DynamoDBDocumentClient.from(raw), token: login.data.accessToken };
}

/** One GET, timed; fails the bench on anything but 200. */
let unavailable = 0;
async function timedGet(base: string, token: string, path: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const t = performance.now();
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (res.status === 200) return performance.now() - t;
    // A 503 is DynamoDB Local overloaded on a busy machine: counted, and asked again.
    if (res.status !== 503 || attempt >= 5) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
    unavailable++;
  }
}

async function querySection(s: Awaited<ReturnType<typeof server>>) {
  const rows: { widget: string; p50: number[] }[] = QA_OVERVIEW_WIDGETS.map((w) => ({ widget: w.id, p50: [] }));
  const dashboard: number[] = [];
  const items: number[] = [];
  for (const n of SIZES) {
    const aggregates = aggregatesOf(n);
    items.push(aggregates.length);
    await batchPut(
      s.db,
      'analytics',
      aggregates.map((d) => ({ ...d.set, ...d.add, pk: d.pk, sk: d.sk })),
    );
    const whole: number[] = [];
    const per = QA_OVERVIEW_WIDGETS.map(() => [] as number[]);
    // Run 0 warms up (handler modules, connections) and is not counted.
    for (let run = -1; run < QUERY_RUNS; run++) {
      const t = performance.now();
      // The console loads a dashboard's widgets together.
      await Promise.all(
        QA_OVERVIEW_WIDGETS.map(async (w, i) => {
          const query = new URLSearchParams(w.query.params as Record<string, string>).toString();
          const ms = await timedGet(s.base, s.token, `/analytics/${w.query.endpoint}?${query}`);
          if (run >= 0) per[i]!.push(ms);
        }),
      );
      if (run >= 0) whole.push(performance.now() - t);
    }
    console.log(`queries: ${n} charges (${aggregates.length} aggregate items) measured`);
    dashboard.push(percentile(whole, 50));
    per.forEach((latencies, i) => rows[i]!.p50.push(percentile(latencies, 50)));
  }
  return { rows, dashboard, items };
}

async function lagSection(s: Awaited<ReturnType<typeof server>>) {
  const start = Date.now();
  const writes: Promise<unknown>[] = [];
  let inFlight = 0;
  for (let i = 0; i < LAG_WRITES; i++) {
    // Open loop: each write starts on schedule, whether or not the ones before it finished.
    const due = start + (i * 1000) / LAG_RATE;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    const now = new Date().toISOString();
    const item = {
      chargeId: randomUUID(),
      articleId: `LAG-${i % ARTICLES}`,
      quantity: 1,
      unit: 'kg',
      productionDate: now.slice(0, 10),
      status: 'quarantine',
      version: 1,
      createdAt: now,
      createdBy: actor,
      updatedAt: now,
      updatedBy: actor,
      requestId: 'bench',
      reason: null,
    };
    // At most 16 writes in flight: DynamoDB Local times out on lock waits past that on a busy machine.
    while (inFlight >= 16) await new Promise((r) => setTimeout(r, 5));
    inFlight++;
    const send = async (): Promise<void> => {
      try {
        await s.db.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: 'charges', Item: { ...item, sk: 'CHARGE' } } },
              { Put: { TableName: 'charges', Item: { ...item, sk: 'V#0000000001' } } },
            ],
          }),
        );
      } catch {
        await send();
      }
    };
    writes.push(send().finally(() => inFlight--));
  }
  await Promise.all(writes);
  console.log(`lag: ${LAG_WRITES} writes done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  // Wait until every write has its marker (applied), then read applied − changed from the markers.
  let lags: number[] = [];
  for (let wait = 0; wait < 600; wait++) {
    lags = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await s.db.send(
        new ScanCommand({
          TableName: 'analytics',
          FilterExpression: 'sk = :ev',
          ExpressionAttributeValues: { ':ev': 'EV' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const m of page.Items ?? []) {
        if (typeof m.changedAt === 'string' && m.changedAt >= new Date(start).toISOString()) {
          lags.push(Date.parse(m.appliedAt as string) - Date.parse(m.changedAt));
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    if (lags.length >= LAG_WRITES) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { applied: lags.length, p50: percentile(lags, 50), p95: percentile(lags, 95), max: Math.max(...lags) };
}

/** The charges table of n charges (each version's snapshot and the live item), item by item, made as asked for. */
function* chargeItems(n: number): Generator<Record<string, unknown>> {
  for (let i = 0; i < n; i++) {
    const versions = charge(i, n).map((v, k) => ({ ...v, version: k + 1 }));
    for (const v of versions) yield { ...v, sk: `V#${String(v.version).padStart(10, '0')}` };
    yield { ...versions.at(-1), sk: 'CHARGE' };
  }
}

/** BatchWrites of 25 from a stream of items, SEED_PARALLELISM at a time: memory stays flat whatever the count. */
async function seed(db: DynamoDBDocumentClient, table: string, items: Iterator<Record<string, unknown>>) {
  let written = 0;
  const nextBatch = () => {
    const batch: Record<string, unknown>[] = [];
    while (batch.length < 25) {
      const r = items.next();
      if (r.done) break;
      batch.push(r.value);
    }
    return batch;
  };
  await Promise.all(
    Array.from({ length: SEED_PARALLELISM }, async () => {
      for (let pending = nextBatch(); pending.length > 0; pending = nextBatch()) {
        const size = pending.length;
        for (let attempt = 1; pending.length > 0; attempt++) {
          try {
            const out = await db.send(
              new BatchWriteCommand({ RequestItems: { [table]: pending.map((Item) => ({ PutRequest: { Item } })) } }),
            );
            pending = (out.UnprocessedItems?.[table] ?? []).map((r) => r.PutRequest?.Item as Record<string, unknown>);
          } catch (err) {
            // DynamoDB Local answers 5xx when the machine is busy: the batch goes again, a few times.
            if (attempt >= 5) throw err;
          }
          if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * attempt));
        }
        written += size;
      }
    }),
  );
  return written;
}

interface RebuildRun {
  baseline?: boolean;
  charges: number;
  items: number;
  seedSeconds: number;
  seconds: number;
  snapshots: number;
  queried: number | null;
  expectedItems: number;
  differences: number;
  baseRssMiB: number;
  maxRssMiB: number;
  baseHeapMiB: number;
  peakHeapMiB: number;
  scanSeconds: number;
}

/** `analytics:rebuild`'s comparison in a process of its own (its peak RSS is the rebuild's alone). */
async function rebuildChild(endpoint: string, charges: string, analytics: string, module?: string) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(ROOT, 'scripts/bench/rebuild-child.ts'),
      endpoint,
      charges,
      analytics,
      ...(module ? [resolve(module)] : []),
    ],
    { cwd: ROOT, env: childEnv({ LOG_LEVEL: 'SILENT' }), maxBuffer: 2 ** 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Omit<RebuildRun, 'items' | 'seedSeconds'>;
}

async function rebuildSection(s: Awaited<ReturnType<typeof server>>): Promise<RebuildRun[]> {
  const out: RebuildRun[] = [];
  for (const n of REBUILD_SIZES) {
    // Tables of their own, without a stream: the running consumer must not see these charges.
    const charges = `bench-rebuild-${Date.now()}-charges`;
    const analytics = `bench-rebuild-${Date.now()}-analytics`;
    const noStream = (def: TableDefinition, name: string) => {
      const { StreamSpecification: _s, ...input } = createTableInput(def, name);
      return input;
    };
    await s.raw.send(new CreateTableCommand(noStream(TABLES.charges, charges)));
    await s.raw.send(new CreateTableCommand(noStream(TABLES.analytics, analytics)));
    try {
      const t0 = performance.now();
      const items = await seed(s.db, charges, chargeItems(n));
      const seedSeconds = (performance.now() - t0) / 1000;
      // The aggregates the consumer would keep for them: the comparison reads real items and should find no difference.
      const kept = aggregatesOf(n);
      await batchPut(
        s.db,
        analytics,
        kept.map((d) => ({ ...d.set, ...d.add, pk: d.pk, sk: d.sk })),
      );
      console.log(
        `rebuild: ${items} charge items written in ${fmt(seedSeconds, 1)} s (${fmt(items / seedSeconds, 0)}/s)`,
      );
      const run = await rebuildChild(s.endpoint, charges, analytics);
      console.log(`rebuild: ${n} charges in ${fmt(run.seconds, 1)} s, peak RSS ${fmt(run.maxRssMiB, 0)} MiB`);
      out.push({ ...run, items, seedSeconds });
      if (REBUILD_BASELINE) {
        const base = await rebuildChild(s.endpoint, charges, analytics, REBUILD_BASELINE);
        console.log(
          `rebuild baseline: ${n} charges in ${fmt(base.seconds, 1)} s, peak RSS ${fmt(base.maxRssMiB, 0)} MiB`,
        );
        out.push({ ...base, items, seedSeconds, baseline: true });
      }
    } finally {
      await s.raw.send(new DeleteTableCommand({ TableName: charges })).catch(() => undefined);
      await s.raw.send(new DeleteTableCommand({ TableName: analytics })).catch(() => undefined);
    }
  }
  return out;
}

export async function run(): Promise<BenchReport> {
  const s = await server();
  try {
    const queries = PARTS.has('queries') ? await querySection(s) : undefined;
    const lag = PARTS.has('lag') ? await lagSection(s) : undefined;
    const rebuilt = PARTS.has('rebuild') ? await rebuildSection(s) : undefined;
    const first = SIZES[0] as number;
    const last = SIZES.at(-1) as number;
    const ratio = (xs: number[]) => (xs.at(-1) as number) / (xs[0] as number);
    const markdown: string[] = [];
    const targets: NonNullable<BenchReport['targets']> = [];
    if (queries) {
      const header = `| query (QA overview widget) | ${SIZES.map((n) => `p50 ms at ${n.toLocaleString('en')} charges`).join(' | ')} | ${last.toLocaleString('en')} / ${first.toLocaleString('en')} |`;
      const table = [
        header,
        `|---|${SIZES.map(() => '---:').join('|')}|---:|`,
        ...queries.rows.map(
          (r) => `| \`${r.widget}\` | ${r.p50.map((v) => fmt(v, 1)).join(' | ')} | ${fmt(ratio(r.p50))}× |`,
        ),
        `| **whole dashboard (7 queries at once)** | ${queries.dashboard.map((v) => fmt(v, 1)).join(' | ')} | ${fmt(ratio(queries.dashboard))}× |`,
        `| aggregate items in the table | ${queries.items.map((v) => v.toLocaleString('en')).join(' | ')} | |`,
      ].join('\n');
      markdown.push(
        `Each size is a year of charges (${ARTICLES} articles, kg and pcs, 80 % decided) written as the aggregate items that history produces — the query reads only those, so writing 500 000 charges would measure nothing more. ${QUERY_RUNS} runs per size through the local server (HTTP, authorizer included).`,
        '',
        table,
        '',
        `${unavailable} query answers were 503 (DynamoDB Local overloaded) and asked again.`,
        '',
      );
      targets.push({
        target: `the QA overview dashboard at ${last.toLocaleString('en')} charges within 1.5× of ${first.toLocaleString('en')}`,
        met: ratio(queries.dashboard) <= 1.5,
        measured: `${fmt(ratio(queries.dashboard))}×`,
      });
    }
    if (lag) {
      markdown.push(
        `Stream consumer: ${LAG_WRITES.toLocaleString('en')} charge writes at ${LAG_RATE}/s straight to the charges table; lag = marker written − charge committed: p50 ${fmt(lag.p50, 0)} ms, p95 ${fmt(lag.p95, 0)} ms, max ${fmt(lag.max, 0)} ms (${lag.applied} applied).`,
        '',
      );
      targets.push({
        target: 'stream consumer lag p95 < 2 s locally',
        met: lag.p95 < 2000,
        measured: `${fmt(lag.p95, 0)} ms`,
      });
    }
    if (rebuilt && rebuilt.length > 0) {
      const mib = (v: number) => fmt(v, 0);
      const measured = rebuilt.filter((r) => !r.baseline);
      markdown.push(
        `Rebuild (\`analytics:rebuild\`'s comparison in a process of its own, measured at each size): each size is a year of charges with their version snapshots, written with BatchWrite (${SEED_PARALLELISM} in flight), and the aggregates the consumer keeps for them, so the comparison reads real items. RSS and heap are the rebuild process's (a fresh Node process with the SDK loaded starts at the "before" value). The floor is a bare Scan of the same charges table with the same ${SCAN_SEGMENTS} segments, each item read and dropped, in the same process right after: what the store alone costs at that size.`,
        '',
        '| charges | items (with versions) | seeding items/s | aggregate items | rebuild s | charges/s | bare Scan s | rebuild ÷ Scan | RSS before MiB | peak RSS MiB | peak heap MiB | read again by Query | differences |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...rebuilt.map(
          (r) =>
            `| ${r.charges.toLocaleString('en')}${r.baseline ? ` (${REBUILD_BASELINE})` : ''} | ${r.items.toLocaleString('en')} | ${fmt(r.items / r.seedSeconds, 0)} | ${r.expectedItems.toLocaleString('en')} | ${fmt(r.seconds, 1)} | ${fmt(r.charges / r.seconds, 0)} | ${fmt(r.scanSeconds, 1)} | ${fmt(r.seconds / r.scanSeconds, 2)}× | ${mib(r.baseRssMiB)} | ${mib(r.maxRssMiB)} | ${mib(r.peakHeapMiB)} | ${r.queried ?? '–'} | ${r.differences} |`,
        ),
        '',
      );
      const [small, large] = [measured[0] as RebuildRun, measured.at(-1) as RebuildRun];
      if (measured.length > 1) {
        targets.push({
          target: `rebuild peak RSS at ${large.charges.toLocaleString('en')} charges within 1.5× of ${small.charges.toLocaleString('en')}`,
          met: large.maxRssMiB <= 1.5 * small.maxRssMiB,
          measured: `${fmt(large.maxRssMiB / small.maxRssMiB)}×`,
        });
      }
      targets.push({
        target: 'rebuild finds no difference from the aggregates the consumer keeps',
        met: measured.every((r) => r.differences === 0),
        measured: measured.map((r) => r.differences).join(', '),
      });
    }
    return {
      title: 'Analytics: dashboard queries by history size, consumer lag, rebuild',
      markdown: markdown.join('\n').trimEnd(),
      targets,
    };
  } finally {
    s.raw.destroy();
    await stopProcess(s.child);
  }
}
