import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { digestAdapters, useDigestAdapters } from '#audit/digest-adapters';
import { writeDigest } from '#audit/digest-job';
import { manifestFile, shardOf } from '#audit/digest-index';
import { type AuditRecord, computeHash, fromAuditItem, GENESIS_HASH, toAuditItem } from '#audit/record';
import { documentDb } from '#platform/dynamo';
import { tableName } from '#platform/tables';
import { invoke } from '#local/handlers';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { callHandler, userWith } from '#test/support/events';
import { auditRecordsOf, createTables, streamReader } from '#test/support/streams';
import { seedChargeAs } from '#test/support/charges';

/**
 * Someone with write access to the audit table rewrites history and recomputes the hashes, so that the chain
 * re-walks cleanly. The signed digests (outside the table) and the entity's own version give them away.
 */
const operator = userWith(['operator'], 'olga');
const auditor = userWith(['admin'], 'audrey');
let reader: ReturnType<typeof streamReader>;

async function drain() {
  const response = await invoke<DynamoDBBatchResponse>('audit-stream', await reader.next());
  expect(response.batchItemFailures).toEqual([]);
}

/** A charge at version 5 (five audit records), its chain head in a signed digest. */
async function digestedCharge(): Promise<string> {
  const { chargeId } = await seedChargeAs(operator, { articleId: 'A-7', quantity: 1, productionDate: '2026-02-01' });
  for (let version = 1; version <= 4; version++) await patch(chargeId, version, version + 1);
  await drain();
  const { signer, store } = digestAdapters();
  const digest = await writeDigest(signer, store);
  expect(digest?.heads).toContainEqual(expect.objectContaining({ entityId: chargeId, seq: 5 }));
  return chargeId;
}

async function patch(chargeId: string, version: number, quantity: number) {
  const res = await callHandler('charges', {
    method: 'PATCH',
    resource: '/charges/{id}',
    pathParameters: { id: chargeId },
    user: operator,
    headers: { 'If-Match': `"${version}"` },
    body: { quantity, reason: `recount ${version}` },
  });
  expect(res.status).toBe(200);
}

const verify = (entityId: string, entityType = 'charge') =>
  callHandler('audit-verify', {
    resource: '/audit/verify',
    query: { entityType, entityId },
    user: auditor,
  });

const records = async (id: string) => (await auditRecordsOf('charge', id)).map((i) => fromAuditItem(i));
const remove = (record: AuditRecord) =>
  documentDb().send(
    new DeleteCommand({
      TableName: tableName('audit'),
      Key: { entityKey: `charge#${record.entityId}`, seq: record.seq },
    }),
  );
const put = (record: AuditRecord) =>
  documentDb().send(new PutCommand({ TableName: tableName('audit'), Item: toAuditItem(record) }));

/** Rewrites `chain` from position `from` on: seqs renumbered, prevHash and hash recomputed, as a forger would. */
async function rehash(chain: AuditRecord[], from = 0) {
  let prevHash = from === 0 ? GENESIS_HASH : chain[from - 1]!.hash;
  for (let i = from; i < chain.length; i++) {
    const unsigned = { ...chain[i]!, seq: i + 1, prevHash };
    const record = { ...unsigned, hash: computeHash(unsigned) };
    await put(record);
    prevHash = record.hash;
  }
}

beforeAll(async () => {
  await createTables();
  reader = streamReader(['charges', 'users']);
  const dir = mkdtempSync(join(tmpdir(), 'digests-'));
  const signer = new LocalDigestSigner(join(dir, 'keys'));
  useDigestAdapters(() => ({ signer, store: new LocalDigestStore(join(dir, 'digests'), signer) }));
});
afterAll(() => reader.stop());

describe('GET /audit/verify against the digests and the entity', () => {
  it('an intact chain is valid, and says which digest vouched for it', async () => {
    const id = await digestedCharge();
    const res = await verify(id);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: true, records: 5, anchoredBy: { seq: 5 } });
    expect(res.json.anchoredBy.digestId).toMatch(/^\d{4}-/);
  });

  it.each([1, 2])('the last %i record(s) deleted: cut_off', async (n) => {
    const id = await digestedCharge();
    for (const record of (await records(id)).slice(-n)) await remove(record);
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'cut_off', records: 5 - n });
  });

  it('the last record edited and its hash recomputed: rehashed', async () => {
    const id = await digestedCharge();
    const chain = await records(id);
    chain[4] = { ...chain[4]!, reason: 'QC certificate attached' };
    await rehash(chain, 4);
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'rehashed' });
  });

  it('a middle record edited and the rest of the chain recomputed: rehashed', async () => {
    const id = await digestedCharge();
    const chain = await records(id);
    chain[2] = { ...chain[2]!, actor: { userId: 'qa', username: 'qa.manager' } };
    await rehash(chain, 2);
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'rehashed' });
  });

  it('records reordered and the chain recomputed: rehashed', async () => {
    const id = await digestedCharge();
    const chain = await records(id);
    [chain[3], chain[4]] = [chain[4]!, chain[3]!];
    await rehash(chain, 3);
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'rehashed' });
  });

  it('a middle record deleted and the rest renumbered: cut_off', async () => {
    const id = await digestedCharge();
    const chain = await records(id);
    await remove(chain[4]!);
    chain.splice(2, 1);
    await rehash(chain, 2);
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'cut_off', records: 4 });
  });

  it('the whole chain deleted while the charge is at version 5: valid false (chain_missing), not 404', async () => {
    const id = await digestedCharge();
    for (const record of await records(id)) await remove(record);
    const res = await verify(id);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: false, reason: 'chain_missing', records: 0 });
  });

  it('records newer than the last digest deleted: the charge version is ahead of the chain (behind_entity)', async () => {
    const id = await digestedCharge();
    await patch(id, 5, 99);
    await drain();
    const chain = await records(id);
    expect(chain).toHaveLength(6);
    await remove(chain[5]!);
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'behind_entity', records: 5 });
  });

  it('the digest index pointed at an older digest, and the records since deleted: cut_off against the newest', async () => {
    const id = await digestedCharge();
    const first = (await digestAdapters().store.latestId())!;
    await patch(id, 5, 6);
    await patch(id, 6, 7);
    await drain();
    const { signer, store } = digestAdapters();
    const second = (await writeDigest(signer, store))!;
    expect(second.heads).toContainEqual(expect.objectContaining({ entityId: id, seq: 7 }));
    // An insider edits the index so it names the first digest (seq 5), then deletes records 6 and 7.
    const manifest = JSON.parse((await store.getFile(manifestFile(second.digestId)))!);
    const shard = manifest.shards[shardOf(`charge#${id}`)].file as string;
    const path = join((store as unknown as { dir: string }).dir, shard);
    const entries = JSON.parse(readFileSync(path, 'utf8'));
    expect(entries[`charge#${id}`]).toBe(second.digestId);
    entries[`charge#${id}`] = first;
    chmodSync(path, 0o600);
    writeFileSync(path, JSON.stringify(entries));
    for (const record of (await records(id)).slice(-2)) await remove(record);
    // The edited shard fails its signed hash: every digest is read, and the newest one catches the cut.
    expect((await verify(id)).json).toMatchObject({
      valid: false,
      reason: 'cut_off',
      records: 5,
      anchoredBy: { digestId: second.digestId, seq: 7 },
    });
    // The index removed altogether: the same.
    rmSync(join((store as unknown as { dir: string }).dir, manifestFile(second.digestId)));
    expect((await verify(id)).json).toMatchObject({ valid: false, reason: 'cut_off', anchoredBy: { seq: 7 } });
  });

  it('an id nothing knows is still 404', async () => {
    expect((await verify('00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('GET /audit/digests', () => {
  it('lists the digests and serves each by id', async () => {
    await digestedCharge();
    const list = await callHandler('audit-verify', { resource: '/audit/digests', user: auditor });
    expect(list.status).toBe(200);
    const latest = list.json.items.at(-1);
    expect(latest).toMatchObject({ algorithm: 'ECDSA_SHA_256' });
    const one = await callHandler('audit-verify', {
      resource: '/audit/digests/{id}',
      pathParameters: { id: latest.digestId },
      user: auditor,
    });
    expect(one.json).toEqual(latest);
    const future = await callHandler('audit-verify', {
      resource: '/audit/digests',
      query: { from: '2099-01-01' },
      user: auditor,
    });
    expect(future.json.items).toEqual([]);
  });
});
