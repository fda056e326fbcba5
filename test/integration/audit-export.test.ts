import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyResult, DynamoDBBatchResponse } from 'aws-lambda';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { digestAdapters, useDigestAdapters } from '#audit/digest-adapters';
import { previousMonth, writeDigest, writeMonthlyArchive } from '#audit/digest-job';
import { type AuditRecord, computeHash } from '#audit/record';
import { invoke } from '#local/handlers';
import { PROJECT_ROOT } from '#local/paths';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { main } from '#scripts/verify-audit';
import { apiEvent, callHandler, userWith } from '#test/support/events';
import { createTables, streamReader } from '#test/support/streams';
import { seedChargeAs } from '#test/support/charges';

const operator = userWith(['operator'], 'olga');
const auditor = userWith(['admin'], 'audrey');
let reader: ReturnType<typeof streamReader>;
let digestsDir: string;
let exportText: string;
let work: string;

const verifyText = (jsonl: string, dir = digestsDir, extra: string[] = []) => {
  const file = join(mkdtempSync(join(work, 'x-')), 'audit.jsonl');
  writeFileSync(file, jsonl);
  const lines: string[] = [];
  const code = main([file, dir, ...extra], (l) => lines.push(l));
  return { code, lines };
};
const parse = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const unparse = (lines: unknown[]) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;

beforeAll(async () => {
  await createTables();
  reader = streamReader(['charges', 'users']);
  work = mkdtempSync(join(tmpdir(), 'audit-export-'));
  digestsDir = join(work, 'digests');
  const signer = new LocalDigestSigner(join(work, 'keys'));
  useDigestAdapters(() => ({ signer, store: new LocalDigestStore(digestsDir, signer) }));
  for (let n = 0; n < 2; n++) {
    const { chargeId } = await seedChargeAs(operator, { articleId: 'A-5', quantity: 1, productionDate: '2026-02-01' });
    for (let version = 1; version <= 2; version++) {
      await callHandler('charges', {
        method: 'PATCH',
        resource: '/charges/{id}',
        pathParameters: { id: chargeId },
        user: operator,
        headers: { 'If-Match': `"${version}"` },
        body: { quantity: version + 1, reason: 'recount' },
      });
    }
  }
  const response = await invoke<DynamoDBBatchResponse>('audit-stream', await reader.next());
  expect(response.batchItemFailures).toEqual([]);
  const { signer: s, store } = digestAdapters();
  expect(await writeDigest(s, store)).toBeDefined();
  const res = await invoke<APIGatewayProxyResult>(
    'audit',
    apiEvent({ resource: '/reports/audit.jsonl', user: auditor }),
  );
  expect(res.statusCode).toBe(200);
  expect(res.headers?.['Content-Type']).toBe('application/x-ndjson');
  exportText = res.body;
}, 60_000);
afterAll(() => reader.stop());

describe('npm run verify-audit', () => {
  it('an intact export: exit 0; every record carries every hashed field', () => {
    const [header, ...records] = parse(exportText);
    expect(header).toHaveProperty('export');
    expect(records).toHaveLength(6);
    for (const r of records) expect(computeHash(r as unknown as AuditRecord)).toBe(r.hash);
    expect(verifyText(exportText)).toMatchObject({ code: 0 });
  });

  it('a record edited: exit 1 (hash_mismatch)', () => {
    const lines = parse(exportText);
    lines[2] = { ...lines[2], reason: 'QC certificate attached' };
    const result = verifyText(unparse(lines));
    expect(result.code).toBe(1);
    expect(result.lines.join('\n')).toContain('hash_mismatch');
  });

  it('the last record of a chain edited and rehashed: exit 1 (rehashed)', () => {
    const lines = parse(exportText);
    const last = { ...(lines[3] as unknown as AuditRecord), reason: 'approved by QP' };
    lines[3] = { ...last, hash: computeHash(last) };
    const result = verifyText(unparse(lines));
    expect(result.code).toBe(1);
    expect(result.lines.join('\n')).toContain('rehashed');
  });

  it('the last record of a chain removed: exit 1 (cut_off)', () => {
    const lines = parse(exportText);
    lines.splice(3, 1);
    const result = verifyText(unparse(lines));
    expect(result.code).toBe(1);
    expect(result.lines.join('\n')).toContain('cut_off');
  });

  it('a whole chain removed: exit 1 (chain_missing)', () => {
    const lines = parse(exportText);
    const result = verifyText(unparse([lines[0], ...lines.slice(4)]));
    expect(result.code).toBe(1);
    expect(result.lines.join('\n')).toContain('chain_missing');
  });

  it('a digest file edited: exit 1', () => {
    const dir = mkdtempSync(join(work, 'd-'));
    // The digests and the public key; the index (a folder) is not what the offline check reads.
    for (const f of readdirSync(digestsDir, { withFileTypes: true })) {
      if (f.isFile()) copyFileSync(join(digestsDir, f.name), join(dir, f.name));
    }
    const name = readdirSync(dir).find((f) => f.endsWith('.json'))!;
    const file = join(dir, name);
    const digest = JSON.parse(readFileSync(file, 'utf8'));
    digest.heads[0].seq = 99;
    chmodSync(file, 0o600);
    writeFileSync(file, JSON.stringify(digest));
    expect(verifyText(exportText, dir).code).toBe(1);
  });

  it('another public key: exit 1; wrong use: exit 2', async () => {
    const other = join(work, 'other.pem');
    writeFileSync(other, await new LocalDigestSigner(join(work, 'other-keys')).publicKeyPem());
    expect(verifyText(exportText, digestsDir, ['--public-key', other]).code).toBe(1);
    expect(main(['only-one-arg'], () => undefined)).toBe(2);
    expect(main([join(work, 'missing.jsonl'), digestsDir], () => undefined)).toBe(2);
  });

  it('as a process: exit code 0 on the intact export, 1 on a tampered one', () => {
    const intact = join(work, 'intact.jsonl');
    writeFileSync(intact, exportText);
    const tampered = join(work, 'tampered.jsonl');
    writeFileSync(tampered, exportText.replace('"recount"', '"approved"'));
    const run = (file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/verify-audit.ts', file, digestsDir], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      }).status;
    expect(run(intact)).toBe(0);
    expect(run(tampered)).toBe(1);
  }, 30_000);
});

describe('monthly archive', () => {
  it("the first run of a month writes the previous month's records as one signed JSONL file, once", async () => {
    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 0, 5));
    const { signer, store } = digestAdapters();
    const name = await writeMonthlyArchive(signer, store, nextMonth);
    expect(name).toBe(`archives/${previousMonth(nextMonth)}.jsonl`);
    const body = readFileSync(join(digestsDir, name!), 'utf8');
    expect(parse(body).slice(1)).toEqual(parse(exportText).slice(1));
    const sig = JSON.parse(readFileSync(join(digestsDir, `${name}.sig.json`), 'utf8'));
    expect(sig.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const key = createPublicKey(await signer.publicKeyPem());
    expect(verify('sha256', Buffer.from(sig.sha256), key, Buffer.from(sig.signature, 'base64'))).toBe(true);
    expect(verify('sha256', Buffer.from('0'.repeat(64)), key, Buffer.from(sig.signature, 'base64'))).toBe(false);
    // The archive itself passes the offline check.
    expect(verifyText(body).code).toBe(0);
    expect(await writeMonthlyArchive(signer, store, nextMonth)).toBeUndefined();
  });
});
