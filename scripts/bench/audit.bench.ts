/**
 * The audit trail's anchoring and attribution:
 * - a digest of 100 000 changed chain heads in its own process (time, peak RSS) — the digest job fed from memory
 *   (audit-digest-child.ts), not from 100 000 audit records in DynamoDB Local;
 * - `GET /audit/verify` of a 1 000-record chain through the audit function's handler, against the bare Query that
 *   reads the same records (DynamoDB Local, interleaved rounds, median);
 * - what the attribution MAC adds locally: stamping a charge item (one MAC, GenerateMac in AWS) against a charge
 *   write, verifying it (one VerifyMac in AWS) against an audit append.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { childEnv } from '#local/child-env';
import type { BenchReport } from './index';
import { fmt, freePort, percentile } from './support';

const HEADS = 100_000;
const CHAIN = 1_000;
const ROUNDS = 15;

interface DigestRun {
  heads: number;
  leaves: number;
  seconds: number;
  maxRssMB: number;
}

function digestChild(heads: number): DigestRun {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'audit-digest-child.ts'), String(heads)],
    { encoding: 'utf8', env: childEnv({ LOG_LEVEL: 'SILENT' }) },
  );
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as DigestRun;
  } catch {
    throw new Error(`audit-digest-child ${heads} failed: ${result.stderr}`);
  }
}

const median = (values: number[]) => percentile(values, 50);

/**
 * A DynamoDB Local of its own (DYNAMODB_ENDPOINT uses a running one). On a busy machine Java can take longer than
 * the start-up wait: the process keeps starting, so it is waited for longer (it is stopped when this process exits).
 */
async function startDynamo(): Promise<{ stop(): Promise<void> } | undefined> {
  const { startDynamoDbLocal, waitForDynamo } = await import('#local/dynamodb-local');
  const port = await freePort();
  process.env.DYNAMODB_ENDPOINT = `http://127.0.0.1:${port}`;
  try {
    return await startDynamoDbLocal({ port });
  } catch (err) {
    if (!/did not answer/.test((err as Error).message)) throw err;
    await waitForDynamo(process.env.DYNAMODB_ENDPOINT, 240_000);
    return undefined;
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export async function run(): Promise<BenchReport> {
  // Digest: the floor (the process with 1 000 heads) and 100 000 heads, two runs each.
  const floor = [digestChild(1_000), digestChild(1_000)];
  const big = [digestChild(HEADS), digestChild(HEADS)];
  const digestSeconds = Math.min(...big.map((r) => r.seconds));
  const digestRss = Math.max(...big.map((r) => r.maxRssMB));
  const floorRss = Math.max(...floor.map((r) => r.maxRssMB));

  // DynamoDB Local for the chain and the writes; local keys in a scratch state dir.
  const state = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  process.env.LOCAL_STATE_DIR = state;
  process.env.TABLE_PREFIX = `bench${Date.now()}-`;
  process.env.LOG_LEVEL = 'SILENT';
  const dynamo = process.env.DYNAMODB_ENDPOINT ? undefined : await startDynamo();
  try {
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { QueryCommand, TransactWriteCommand } = await import('@aws-sdk/lib-dynamodb');
    const { ensureTables } = await import('#local/tables');
    const { installLocalAdapters } = await import('#local/adapters/index');
    const { documentDb } = await import('#platform/dynamo');
    const { tableName } = await import('#platform/tables');
    const { appendAuditRecord } = await import('#audit/audit-log');
    const { attributionKey } = await import('#audit/adapters');
    const { stampItem, verifiedLastChange, lastChangeOf } = await import('#audit/attribution');
    const { CHARGE_UNSIGNED_FIELDS } = await import('#charges/model');
    const { callHandler, userWith } = await import('#test/support/events');
    const admin = new DynamoDBClient({
      endpoint: process.env.DYNAMODB_ENDPOINT,
      region: 'eu-central-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await ensureTables(admin, process.env.TABLE_PREFIX);
    admin.destroy();
    installLocalAdapters();
    const db = documentDb();

    // A 1 000-record chain (what an entity with a long life has), appended one by one, as the stream does.
    const entityId = `bench-${randomUUID()}`;
    const actor = { userId: 'u-1', username: 'ada' };
    const appendMs: number[] = [];
    for (let v = 1; v <= CHAIN; v++) {
      appendMs.push(
        await timed(() =>
          appendAuditRecord({
            entityType: 'charge',
            entityId,
            action: v === 1 ? 'create' : 'update',
            actor,
            version: v,
            requestId: randomUUID(),
            reason: 'bench',
            changes: { quantity: { from: v - 1, to: v } },
            idempotencyKey: randomUUID(),
          }),
        ),
      );
    }

    const auditor = userWith(['auditor'], 'bench-auditor');
    const bare = async () => {
      let start: Record<string, unknown> | undefined;
      let n = 0;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName: tableName('audit'),
            KeyConditionExpression: 'entityKey = :k',
            ExpressionAttributeValues: { ':k': `charge#${entityId}` },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        n += page.Items?.length ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
      if (n !== CHAIN) throw new Error(`read ${n} records`);
    };
    const verify = async () => {
      const res = await callHandler('audit-verify', {
        resource: '/audit/verify',
        query: { entityType: 'charge', entityId },
        user: auditor,
      });
      const body = res.json as { valid?: boolean; records?: number };
      // The charge itself does not exist (only its chain): valid, 1 000 records.
      if (res.status !== 200 || body.records !== CHAIN)
        throw new Error(`verify: ${res.status} ${JSON.stringify(body)}`);
    };
    await bare();
    await verify();
    const bareMs: number[] = [];
    const verifyMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      bareMs.push(await timed(bare));
      verifyMs.push(await timed(verify));
    }
    const ratio = median(verifyMs) / median(bareMs);

    // The MAC: a charge item as the charges service stamps it, and the stream's check of it.
    const key = attributionKey();
    const chargeItem = (i: number) => ({
      chargeId: `c-${i}`,
      sk: 'CHARGE',
      articleId: 'A-100',
      quantity: 12.5,
      unit: 'kg',
      productionDate: '2026-12-01',
      status: 'quarantine',
      notes: 'Probe entnommen, Charge gesperrt bis QC-Freigabe',
      version: 1,
      createdAt: new Date().toISOString(),
      createdBy: actor,
      updatedAt: new Date().toISOString(),
      updatedBy: actor,
      listPk: 'CHARGE',
      listSk: `2026-12-01#c-${i}`,
      lastChange: lastChangeOf(actor, null, { requestId: randomUUID() }, new Date().toISOString()),
    });
    const stamped = await stampItem(key, 'charge', 'c-0', chargeItem(0), CHARGE_UNSIGNED_FIELDS);
    const N = 2000;
    for (let i = 0; i < 200; i++) await stampItem(key, 'charge', 'c-0', chargeItem(0), CHARGE_UNSIGNED_FIELDS);
    let t = performance.now();
    for (let i = 0; i < N; i++) await stampItem(key, 'charge', `c-${i}`, chargeItem(i), CHARGE_UNSIGNED_FIELDS);
    const stampUs = ((performance.now() - t) * 1000) / N;
    t = performance.now();
    for (let i = 0; i < N; i++) {
      if (!(await verifiedLastChange(key, 'charge', 'c-0', stamped, CHARGE_UNSIGNED_FIELDS))) throw new Error('MAC');
    }
    const verifyUs = ((performance.now() - t) * 1000) / N;
    // A charge write as the service makes it: the live item and its version's snapshot in one transaction.
    const writeMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const item = chargeItem(i);
      writeMs.push(
        await timed(() =>
          db.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: { TableName: tableName('charges'), Item: item } },
                { Put: { TableName: tableName('charges'), Item: { ...item, sk: `V#${String(1).padStart(10, '0')}` } } },
              ],
            }),
          ),
        ),
      );
    }
    const chargeWrite = median(writeMs);
    const append = median(appendMs);

    const markdown = [
      // Absolute times move with other load on a shared machine; the ratios are taken within one run.
      `Load average during the run: ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores.`,
      '',
      '| measurement | result |',
      '| --- | --- |',
      `| digest of ${HEADS.toLocaleString('en')} changed heads (previous digest listing as many, ¾ changed): time, best of 2 | ${fmt(digestSeconds)} s |`,
      `| — its process's peak RSS (the same process with 1 000 heads: ${floorRss} MB) | ${digestRss} MB |`,
      `| \`GET /audit/verify\` of a ${CHAIN}-record chain, median of ${ROUNDS} (handler, consistent read, recompute, digests, entity) | ${fmt(median(verifyMs))} ms |`,
      `| bare consistent Query of the same ${CHAIN} records, median of ${ROUNDS} | ${fmt(median(bareMs))} ms |`,
      `| verify ÷ bare read | ${ratio.toFixed(2)}× |`,
      `| stamp a charge item (canonical JSON, SHA-256, one local HMAC), mean of ${N} | ${stampUs.toFixed(1)} µs |`,
      `| charge write (live item + snapshot, one TransactWriteItems), median of 200 | ${fmt(chargeWrite)} ms → MAC adds ${((stampUs / 1000 / chargeWrite) * 100).toFixed(2)} % |`,
      `| verify a stamp (one local HMAC check), mean of ${N} | ${verifyUs.toFixed(1)} µs |`,
      `| audit append (head Query + conditional put with its idempotency marker), median of ${CHAIN} | ${fmt(append)} ms → MAC check adds ${((verifyUs / 1000 / append) * 100).toFixed(2)} % |`,
      '',
      'In AWS the MAC is one KMS `GenerateMac` per write and one `VerifyMac` per audited change: a network call of a',
      'few milliseconds in-region (an estimate; AWS publishes no latency figure), priced $0.03 per 10 000 requests —',
      '2 requests and $6.00 per million charge writes (see [the audit trail](audit-trail.md#what-attribution-costs)).',
    ].join('\n');
    return {
      title: 'Audit trail: digests, verify, attribution MAC',
      markdown,
      targets: [
        { target: `digest of ${HEADS} heads ≤ 10 s`, met: digestSeconds <= 10, measured: `${fmt(digestSeconds)} s` },
        { target: `digest of ${HEADS} heads ≤ 256 MB peak RSS`, met: digestRss <= 256, measured: `${digestRss} MB` },
        { target: 'verify of 1 000 records ≤ 1.5× the bare read', met: ratio <= 1.5, measured: `${ratio.toFixed(2)}×` },
      ],
    };
  } finally {
    await dynamo?.stop();
    rmSync(state, { recursive: true, force: true });
  }
}
