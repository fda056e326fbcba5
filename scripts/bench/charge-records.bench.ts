import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ChargeState } from '#charges/model';
import { TABLES } from '#platform/tables';
import { createTableInput } from '#local/tables';
import type { BenchReport } from './index';
import { fmt, percentile, startBenchServer } from './support';

/**
 * Signed QA decisions and long histories: a signed release (password verified, lockout bookkeeping) against an
 * unsigned status change over HTTP in the same run, and a history page of 100 at 20 000 versions against one at
 * 100 versions. Small on purpose: sequential requests, one charge per measured change.
 */

const ADMIN_PASSWORD = 'bench-admin-password-charge-records';
const QA_PASSWORD = 'bench-qa-password-charge-records';
const CHANGES = Number(process.env.BENCH_SIGNED_CHANGES ?? 30);
const LONG_HISTORY = Number(process.env.BENCH_LONG_HISTORY ?? 20_000);
const REPORT_SAMPLES = 5;
const SHORT_HISTORY = 100;
const PAGE_SAMPLES = 60;

const body = { articleId: 'BENCH-SIG', quantity: 1, unit: 'kg', productionDate: '2026-06-01' };

async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Signed release vs unsigned status change, p50 of `CHANGES` sequential requests each. */
async function signedVsUnsigned(base: string): Promise<{ unsigned: number[]; signed: number[] }> {
  const call = (path: string, token: string | undefined, init: { method?: string; body?: unknown; ifMatch?: number }) =>
    fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.ifMatch !== undefined ? { 'if-match': `"${init.ifMatch}"` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const login = async (username: string, password: string) =>
    (await json(await call('/auth/login', undefined, { method: 'POST', body: { username, password } })))
      .accessToken as string;
  {
    const admin = await login('admin', ADMIN_PASSWORD);
    await json(
      await call('/users', admin, {
        method: 'POST',
        body: { username: 'bench-qa', password: QA_PASSWORD, roles: ['quality_manager'], reason: 'benchmark' },
      }),
    );
    const qa = await login('bench-qa', QA_PASSWORD);
    const unsigned: number[] = [];
    const signed: number[] = [];
    for (let i = 0; i < CHANGES + 3; i++) {
      const { chargeId } = (await json(await call('/charges', admin, { method: 'POST', body }))) as {
        chargeId: string;
      };
      // The unsigned change (in_production → quarantine) and the signed one (quarantine → released), same charge.
      let t = performance.now();
      await json(
        await call(`/charges/${chargeId}`, admin, {
          method: 'PATCH',
          ifMatch: 1,
          body: { status: 'quarantine', reason: 'bench: to QC' },
        }),
      );
      const u = performance.now() - t;
      t = performance.now();
      await json(
        await call(`/charges/${chargeId}`, qa, {
          method: 'PATCH',
          ifMatch: 2,
          body: {
            status: 'released',
            reason: 'bench: QC ok',
            signature: { meaning: 'approved_for_release', password: QA_PASSWORD },
          },
        }),
      );
      const s = performance.now() - t;
      // The first three warm the handlers up.
      if (i >= 3) {
        unsigned.push(u);
        signed.push(s);
      }
    }
    return { unsigned, signed };
  }
}

/** History page of 100 through ChargeService at LONG_HISTORY vs SHORT_HISTORY versions, on one DynamoDB Local. */
async function historyPages(raw: DynamoDBClient): Promise<{
  short: number;
  longFirst: number;
  longMiddle: number;
  seedSeconds: number;
  reportTiny: { ms: number; peakMb: number };
  reportLong: { ms: number; peakMb: number };
}> {
  const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const table = 'bench-history';
  {
    // The charges definition without its stream: seeding 20 000 snapshots does not feed an audit poller.
    await raw.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    const { StreamSpecification: _noStream, ...input } = createTableInput(TABLES.charges, table);
    await raw.send(new CreateTableCommand(input));
    const { ChargeStore, toItems } = await import('#charges/store');
    const { ChargeService } = await import('#charges/service');
    const noSignatures = {
      verify: () => Promise.reject(new Error('no signatures in this benchmark')),
    };
    const service = new ChargeService(new ChargeStore(db, table), noSignatures);

    const seedVersions = async (count: number) => {
      const actor = { userId: 'bench', username: 'bench' };
      const chargeId = randomUUID();
      const state = (version: number): ChargeState => ({
        chargeId,
        lotNumber: `BENCH-${chargeId.slice(0, 8)}`,
        articleId: 'BENCH-HIST',
        quantity: version,
        unit: 'kg',
        productionDate: '2026-06-01',
        status: 'in_production',
        version,
        createdAt: '2026-06-01T00:00:00.000Z',
        createdBy: actor,
        updatedAt: new Date(Date.UTC(2026, 5, 1) + version * 1000).toISOString(),
        updatedBy: actor,
        requestId: 'seed',
        reason: version === 1 ? null : `change ${version}`,
        dataAuthors: [actor.userId],
      });
      let next = 1;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next <= count) {
            const from = next;
            next = Math.min(next + 25, count + 1);
            let items = Array.from({ length: next - from }, (_, k) => ({
              PutRequest: { Item: toItems(state(from + k)).snapshot },
            }));
            while (items.length > 0) {
              const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: items } }));
              items = (out.UnprocessedItems?.[table] ?? []) as typeof items;
            }
          }
        }),
      );
      // The live item too, as the last version left it: the Chargenbericht reads it first.
      await db.send(new PutCommand({ TableName: table, Item: toItems(state(count)).live }));
      return chargeId;
    };
    const page = async (chargeId: string, cursor?: string) => {
      const times: number[] = [];
      for (let i = 0; i < PAGE_SAMPLES; i++) {
        const t = performance.now();
        const result = await service.history(chargeId, { limit: 100, ...(cursor ? { cursor } : {}) });
        if (i >= 10) times.push(performance.now() - t);
        if (result.versions.length !== 100) throw new Error(`page of ${result.versions.length}`);
      }
      return percentile(times, 50);
    };

    const shortId = await seedVersions(SHORT_HISTORY);
    const t = performance.now();
    const longId = await seedVersions(LONG_HISTORY);
    const seedSeconds = (performance.now() - t) / 1000;
    // A page from the middle of the long history: follow cursors to it once, then measure that page.
    let cursor: string | undefined;
    for (let i = 0; i < Math.floor(LONG_HISTORY / 200); i++) {
      cursor = (await service.history(longId, { limit: 100, ...(cursor ? { cursor } : {}) })).nextCursor ?? undefined;
    }
    // The Chargenbericht at 10 and at LONG_HISTORY versions: it prints the latest 200, so it reads and draws as much.
    const { ChargeStore: Store } = await import('#charges/store');
    const { chargeReportPdf } = await import('#reports/writers/chargenbericht');
    const store = new Store(db, table);
    const tinyId = await seedVersions(10);
    const report = async (chargeId: string) => {
      const times: number[] = [];
      let peak = 0;
      for (let i = 0; i < REPORT_SAMPLES; i++) {
        global.gc?.();
        const before = process.memoryUsage().rss;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - before)), 5);
        const t = performance.now();
        await chargeReportPdf(store, chargeId, 'de', 'bench');
        times.push(performance.now() - t);
        clearInterval(sampler);
        peak = Math.max(peak, process.memoryUsage().rss - before);
      }
      return { ms: percentile(times, 50), peakMb: peak / 2 ** 20 };
    };
    await report(tinyId); // fonts and pdf-lib load once, outside the measurement
    return {
      short: await page(shortId),
      longFirst: await page(longId),
      longMiddle: await page(longId, cursor),
      seedSeconds,
      reportTiny: await report(tinyId),
      reportLong: await report(longId),
    };
  }
}

/** One local server (in memory) for both: its API for the signed changes, its DynamoDB Local for the history table. */
async function measure() {
  const server = await startBenchServer(ADMIN_PASSWORD);
  try {
    const changes = await signedVsUnsigned(server.base);
    return { ...changes, history: await historyPages(server.raw) };
  } finally {
    await server.stop();
  }
}

export async function run(): Promise<BenchReport> {
  const { unsigned, signed, history } = await measure();
  const u50 = percentile(unsigned, 50);
  const s50 = percentile(signed, 50);
  const growth = Math.max(history.longFirst, history.longMiddle) / history.short;
  const reportExtraMb = history.reportLong.peakMb - history.reportTiny.peakMb;
  return {
    title: `Charge records: signed QA decisions, history pages at ${LONG_HISTORY} versions`,
    markdown: [
      '| what | p50 ms | p95 ms | n |',
      '|---|---:|---:|---:|',
      `| PATCH status in_production → quarantine (unsigned) | ${fmt(u50)} | ${fmt(percentile(unsigned, 95))} | ${unsigned.length} |`,
      `| PATCH status quarantine → released (signed with a password) | ${fmt(s50)} | ${fmt(percentile(signed, 95))} | ${signed.length} |`,
      '',
      `Signed / unsigned p50: **${fmt(s50 / u50)}×**. Sequential requests over HTTP to the local server (authorizer,`,
      'handler, DynamoDB Local), one charge per pair. The difference is the signature check: the signer read from',
      'users, the lockout state read and reset in auth-state, and the password verified with scrypt — the same cost as',
      'a login, paid once per QA decision.',
      '',
      '| history | page of 100 p50 ms |',
      '|---|---:|',
      `| ${SHORT_HISTORY} versions, first page | ${fmt(history.short)} |`,
      `| ${LONG_HISTORY} versions, first page | ${fmt(history.longFirst)} |`,
      `| ${LONG_HISTORY} versions, a page in the middle (cursor) | ${fmt(history.longMiddle)} |`,
      '',
      `Seeding ${LONG_HISTORY} snapshots (BatchWriteItem, 4 in flight): ${fmt(history.seedSeconds, 0)} s. Measured on`,
      'ChargeService.history against a table of the charges definition without its stream, on DynamoDB Local: a page',
      'is one Query (Limit 101) on the snapshots and one GetItem of the version before it.',
      '',
      '| Chargenbericht (German PDF) | p50 ms | peak RSS growth MB |',
      '|---|---:|---:|',
      `| 10 versions | ${fmt(history.reportTiny.ms)} | ${fmt(history.reportTiny.peakMb)} |`,
      `| ${LONG_HISTORY} versions (latest 200 printed) | ${fmt(history.reportLong.ms)} | ${fmt(history.reportLong.peakMb)} |`,
      '',
      'chargeReportPdf on the same table: one GetItem and one Query of the latest 201 snapshots, whatever the length',
      `of the history; ${REPORT_SAMPLES} runs each, fonts loaded before.`,
    ].join('\n'),
    targets: [
      {
        target: `history page of 100 at ${LONG_HISTORY} versions within 1.5× of one at ${SHORT_HISTORY}`,
        met: growth <= 1.5,
        measured: `${fmt(growth)}×`,
      },
      {
        target: `Chargenbericht at ${LONG_HISTORY} versions ≤ 2 s and ≤ 128 MB more than at 10`,
        met: history.reportLong.ms <= 2000 && reportExtraMb <= 128,
        measured: `${fmt(history.reportLong.ms, 0)} ms, ${fmt(reportExtraMb)} MB more`,
      },
    ],
  };
}
