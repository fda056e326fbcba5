import { createHash, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3DigestReader, S3DigestStore } from '#audit/aws-digests';
import { buildDigest, type Digest, digestIdOf } from '#audit/digest';
import { writeMonthlyArchive } from '#audit/digest-job';
import type { AuditRecord } from '#audit/record';
import type { AuditStore } from '#audit/store';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { fakeS3, TEST_CREDENTIALS } from '#test/support/fake-s3';

const s3 = mockClient(S3Client);
afterEach(() => {
  s3.reset();
  vi.unstubAllGlobals();
});

/**
 * The digest job's store: puts through the (mocked) SDK client, reads through the signed-fetch reader against a
 * fake bucket holding `objects`.
 */
function digestBucket(retentionYears: number, objects = new Map<string, string>()) {
  const bucket = fakeS3({ bucket: 'audit-digests', region: 'eu-central-1', objects });
  vi.stubGlobal('fetch', bucket.fetch);
  const reader = new S3DigestReader('audit-digests', 'eu-central-1', async () => TEST_CREDENTIALS);
  return {
    fake: bucket,
    store: new S3DigestStore(new S3Client({ region: 'eu-central-1' }), 'audit-digests', retentionYears, reader),
  };
}

let signer: LocalDigestSigner;
beforeAll(() => {
  signer = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'archive-key-')));
});

const record = (entityId: string, seq: number, at: string) =>
  ({
    auditId: `a-${entityId}-${seq}`,
    entityType: 'charge',
    entityId,
    seq,
    action: seq === 1 ? 'create' : 'update',
    actor: { userId: 'u1', username: 'ada' },
    at,
    requestId: 'r',
    reason: null,
    version: seq,
    changes: {},
    prevHash: '0'.repeat(64),
    hash: String(seq).repeat(64),
  }) as unknown as AuditRecord;

/** An audit store that answers one month's records (and records what it was asked). */
function auditStore(records: AuditRecord[]) {
  const search = vi.fn(async (_query: { from?: string; to?: string }) => ({ items: records, nextCursor: null }));
  return { store: { search } as unknown as AuditStore, search };
}

describe('monthly archive to the Object Lock bucket', () => {
  it("writes last month's records as JSONL and a detached signature, both locked in compliance mode for the retention", async () => {
    s3.on(PutObjectCommand).resolves({});
    const { store: bucket, fake } = digestBucket(7);
    const records = [record('c-2', 1, '2026-11-03T10:00:00.000Z'), record('c-1', 1, '2026-11-01T00:00:00.000Z')];
    const { store, search } = auditStore(records);
    const now = new Date('2026-12-01T00:05:00.000Z');

    expect(await writeMonthlyArchive(signer, bucket, now, store)).toBe('archives/2026-11.jsonl');
    expect(search.mock.calls[0]?.[0]).toMatchObject({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-30T23:59:59.999Z',
    });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual(['archives/2026-11.jsonl.sig.json', 'archives/2026-11.jsonl']);
    for (const put of puts) {
      expect(put).toMatchObject({
        Bucket: 'audit-digests',
        ObjectLockMode: 'COMPLIANCE',
        ChecksumAlgorithm: 'SHA256',
        IfNoneMatch: '*',
      });
      const retain = put.ObjectLockRetainUntilDate as Date;
      expect(retain.getUTCFullYear() - new Date().getUTCFullYear()).toBe(7);
    }
    const [sigPut, filePut] = puts as [(typeof puts)[number], (typeof puts)[number]];
    expect(filePut.ContentType).toBe('application/x-ndjson');

    // The content: a header line, then each record, chain by chain.
    const lines = String(filePut.Body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({
      export: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999Z', generatedAt: now.toISOString() },
    });
    expect(lines.slice(1).map((l) => l.entityId)).toEqual(['c-1', 'c-2']);
    // Whether the month is archived is asked with a signed HEAD, not through the SDK client.
    expect(fake.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'HEAD /archives/2026-11.jsonl',
    ]);

    // The signature: over the file's SHA-256, checkable with nothing but the public key.
    const sig = JSON.parse(String(sigPut.Body)) as Record<string, string>;
    const sha256 = createHash('sha256').update(String(filePut.Body), 'utf8').digest('hex');
    expect(sig).toMatchObject({
      file: 'archives/2026-11.jsonl',
      sha256,
      keyId: signer.keyId,
      algorithm: 'ECDSA_SHA_256',
    });
    const publicKey = await signer.publicKeyPem();
    expect(verify('sha256', Buffer.from(sha256, 'utf8'), publicKey, Buffer.from(sig.signature!, 'base64'))).toBe(true);
    // A changed file no longer matches the signed hash.
    const tampered = createHash('sha256').update(String(filePut.Body).replace('c-1', 'c-9'), 'utf8').digest('hex');
    expect(tampered).not.toBe(sha256);
  });

  it('writes nothing when the month is archived already (a second run of the first day)', async () => {
    const { store: bucket } = digestBucket(10, new Map([['archives/2026-11.jsonl', '{}\n']]));
    const { store, search } = auditStore([record('c-1', 1, '2026-11-01T00:00:00.000Z')]);
    expect(await writeMonthlyArchive(signer, bucket, new Date('2026-12-01T00:20:00.000Z'), store)).toBeUndefined();
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(search).not.toHaveBeenCalled();
  });

  it('a put the bucket refuses (the object exists and is locked) fails the run instead of passing silently', async () => {
    s3.on(PutObjectCommand).rejects(
      Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
        name: 'PreconditionFailed',
      }),
    );
    const { store: bucket } = digestBucket(10);
    const { store } = auditStore([]);
    await expect(writeMonthlyArchive(signer, bucket, new Date('2026-12-01T00:05:00.000Z'), store)).rejects.toThrow(
      /pre-conditions/,
    );
  });
});

describe('the newest digest is found without reading every digest', () => {
  const at = (i: number) => new Date(Date.parse('2025-01-01T00:00:00.000Z') + i * 15 * 60_000).toISOString();

  // The lookback windows themselves: test/unit/audit-s3-digest-reader.test.ts.
  it("S3: the job's store reads through the signed reader, never through the SDK client", async () => {
    const objects = new Map(
      Array.from({ length: 300 }, (_, i) => [
        `digests/${digestIdOf(at(i))}.json`,
        JSON.stringify({ digestId: digestIdOf(at(i)) }),
      ]),
    );
    const { store, fake } = digestBucket(10, objects);
    expect(await store.latestId()).toBe(digestIdOf(at(299)));
    expect((await store.get(digestIdOf(at(299))))?.digestId).toBe(digestIdOf(at(299)));
    expect(await store.getFile('index/x/manifest.json')).toBeUndefined();
    expect(s3.calls()).toHaveLength(0);
    expect(fake.requests.length).toBeGreaterThan(0);
  });

  it('local: reads one digest file of many (the directory listing holds only names)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digests-'));
    const store = new LocalDigestStore(dir, signer);
    let previous: Digest | undefined;
    for (let i = 0; i < 50; i++) {
      previous = await buildDigest(
        signer,
        previous,
        [{ entityType: 'charge', entityId: `c${i}`, seq: 1, hash: 'a'.repeat(64) }],
        at(i),
      );
      await store.put(previous);
    }
    const reads = vi.spyOn(store, 'get');
    expect((await store.latest())?.digestId).toBe(previous?.digestId);
    expect(reads).toHaveBeenCalledTimes(1);
  });
});
