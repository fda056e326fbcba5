import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3DigestReader, S3DigestStore } from '#audit/aws-digests';
import { verifyAnchored } from '#audit/anchor';
import { canonicalJson } from '#audit/canonical-json';
import {
  buildDigest,
  type ChainHead,
  type Digest,
  digestFileChunks,
  digestHashOf,
  headLeaf,
  leafOf,
} from '#audit/digest';
import {
  digestsFor,
  entityKeyOf,
  type IndexManifest,
  manifestFile,
  shardOf,
  writeDigestIndex,
} from '#audit/digest-index';
import { leafHash, merkleRoot } from '#audit/merkle';
import { type AuditRecord, computeHash, GENESIS_HASH } from '#audit/record';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { fakeS3, TEST_CREDENTIALS } from '#test/support/fake-s3';

const head = (entityId: string, seq: number, entityType = 'charge'): ChainHead => ({
  entityType,
  entityId,
  seq,
  hash: createHash('sha256').update(`${entityType}/${entityId}/${seq}`).digest('hex'),
});

/** The tree as first written: every level in memory, pairs hashed left to right, an odd last node carried up. */
function levelByLevelRoot(leaves: string[]): string {
  if (leaves.length === 0) return '0'.repeat(64);
  let level = leaves.map(leafHash);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(
        right
          ? createHash('sha256')
              .update(Buffer.from([1]))
              .update(level[i]!)
              .update(right)
              .digest()
          : level[i]!,
      );
    }
    level = next;
  }
  return level[0]!.toString('hex');
}

describe('the streaming digest job computes what the whole-object one did', () => {
  it('the incremental Merkle root equals the level-by-level root for 0…70 leaves', () => {
    for (let n = 0; n <= 70; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafOf(head(`c-${i}`, i + 1)));
      expect(merkleRoot(leaves), `${n} leaves`).toBe(levelByLevelRoot(leaves));
    }
  });

  it("a head's leaf written out equals its canonical JSON, whatever its strings hold", () => {
    for (const id of ['c-1', 'ä"\\\n\u2028😀', '']) {
      const h = { entityType: 'report-definition', entityId: id, seq: 12, hash: 'ab'.repeat(32) };
      expect(headLeaf(h)).toBe(canonicalJson(h));
    }
  });

  it("the body's hash taken head by head equals the hash of the whole canonical body; the file is JSON.stringify's", async () => {
    const signer = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'index-keys-')));
    const heads = Array.from({ length: 37 }, (_, i) => head(`c-${i}`, i + 1, i % 3 ? 'charge' : 'user'));
    for (const previous of [undefined, { until: '2026-12-07T08:45:00.000Z', hash: 'f'.repeat(64) }]) {
      const digest = await buildDigest(signer, previous, heads, '2026-12-07T09:00:00.000Z');
      const { hash, signature: _, ...body } = digest;
      expect(hash).toBe(digestHashOf(body));
      expect(digest.merkleRoot).toBe(levelByLevelRoot(digest.heads.map(leafOf)));
      expect([...digestFileChunks(digest)].join('')).toBe(`${JSON.stringify(digest, null, 2)}\n`);
      const store = new LocalDigestStore(mkdtempSync(join(tmpdir(), 'index-file-')), signer);
      await store.put(digest);
      expect(readFileSync(join((store as unknown as { dir: string }).dir, `${digest.digestId}.json`), 'utf8')).toBe(
        `${JSON.stringify(digest, null, 2)}\n`,
      );
    }
  });
});

describe('the digest index: one digest read per verify, never a false anchor', () => {
  let dir: string;
  let signer: LocalDigestSigner;
  let store: LocalDigestStore;
  let digests: Digest[];

  /** d1: a@3, b@1; d2: c@1; d3: a@5. */
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'index-'));
    signer = new LocalDigestSigner(join(dir, 'keys'));
    store = new LocalDigestStore(join(dir, 'digests'), signer);
    digests = [];
    const runs: ChainHead[][] = [[head('a', 3), head('b', 1)], [head('c', 1)], [head('a', 5)]];
    for (const [i, heads] of runs.entries()) {
      const previous = digests.at(-1);
      const digest = await buildDigest(
        signer,
        previous,
        heads,
        `2026-12-07T09:${String(i * 15).padStart(2, '0')}:00.000Z`,
      );
      await store.put(digest);
      await writeDigestIndex(signer, store, digest, previous?.digestId);
      digests.push(digest);
    }
  });

  const publicKey = () => signer.publicKeyPem();
  const find = (id: string) => digestsFor(store, publicKey, 'charge', id);
  const file = (name: string) => join(dir, 'digests', name);
  const overwrite = (name: string, text: string) => {
    chmodSync(file(name), 0o600);
    writeFileSync(file(name), text);
  };
  const manifestOf = (digest: Digest) =>
    JSON.parse(readFileSync(file(manifestFile(digest.digestId)), 'utf8')) as IndexManifest;
  const shardFileOf = (id: string) => manifestOf(digests[2]!).shards[shardOf(entityKeyOf('charge', id))]!.file;

  it('finds the newest digest listing an entity, reading that digest only', async () => {
    const list = vi.spyOn(store, 'list');
    const get = vi.spyOn(store, 'get');
    expect((await find('a')).digests.map((d) => d.digestId)).toEqual([digests[2]!.digestId]);
    expect((await find('b')).digests.map((d) => d.digestId)).toEqual([digests[0]!.digestId]);
    expect((await find('c')).digests.map((d) => d.digestId)).toEqual([digests[1]!.digestId]);
    // Never listed, and the index covers every digest: no digest read at all.
    expect(await find('nobody')).toEqual({ digests: [] });
    expect(list).not.toHaveBeenCalled();
    expect(get).toHaveBeenCalledTimes(3);
  });

  /** A chain of `n` records, as the audit table would hold it. */
  function chain(entityId: string, n: number): AuditRecord[] {
    const records: AuditRecord[] = [];
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= n; seq++) {
      const unsigned = {
        auditId: `${entityId}-${seq}`,
        entityType: 'charge',
        entityId,
        seq,
        action: seq === 1 ? 'create' : 'update',
        actor: { userId: 'u-1', username: 'ada' },
        at: `2026-12-07T08:${String(seq).padStart(2, '0')}:00.000Z`,
        requestId: `r-${seq}`,
        changes: {},
        prevHash,
      } as Omit<AuditRecord, 'hash'>;
      const record = { ...unsigned, hash: computeHash(unsigned) } as AuditRecord;
      records.push(record);
      prevHash = record.hash;
    }
    return records;
  }

  /** The real heads for `a` in d1/d3 are made up; anchor `a`'s chain by rebuilding those two digests' heads from it. */
  async function anchoredChain() {
    const records = chain('a', 5);
    dir = mkdtempSync(join(tmpdir(), 'index-chain-'));
    signer = new LocalDigestSigner(join(dir, 'keys'));
    store = new LocalDigestStore(join(dir, 'digests'), signer);
    digests = [];
    const at = (seq: number): ChainHead => ({ entityType: 'charge', entityId: 'a', seq, hash: records[seq - 1]!.hash });
    for (const [i, heads] of [[at(3)], [head('c', 1)], [at(5)]].entries()) {
      const previous = digests.at(-1);
      const digest = await buildDigest(
        signer,
        previous,
        heads,
        `2026-12-07T09:${String(i * 15).padStart(2, '0')}:00.000Z`,
      );
      await store.put(digest);
      await writeDigestIndex(signer, store, digest, previous?.digestId);
      digests.push(digest);
    }
    return records;
  }

  const verifyA = async (records: AuditRecord[]) => {
    const { digests: found } = await find('a');
    return verifyAnchored(records, found, await publicKey(), 'charge', 'a', undefined);
  };

  it('an intact chain is valid against the digest the index names', async () => {
    const records = await anchoredChain();
    expect(await verifyA(records)).toMatchObject({
      valid: true,
      anchoredBy: { digestId: digests[2]!.digestId, seq: 5 },
    });
    // The attack the index must not open: the last two records deleted, which the newest digest catches.
    expect(await verifyA(records.slice(0, 3))).toMatchObject({ valid: false, reason: 'cut_off' });
  });

  it('the pointer changed to an older digest (shard file edited): the index is not used, and the cut is found', async () => {
    const records = await anchoredChain();
    const shard = shardFileOf('a');
    const entries = JSON.parse(readFileSync(file(shard), 'utf8')) as Record<string, string>;
    entries['charge#a'] = digests[0]!.digestId;
    overwrite(shard, `${JSON.stringify(entries)}\n`);
    expect((await find('a')).problem).toBe('shard_mismatch');
    expect(await verifyA(records.slice(0, 3))).toMatchObject({
      valid: false,
      reason: 'cut_off',
      anchoredBy: { digestId: digests[2]!.digestId },
    });
  });

  it('the pointer removed (entity dropped from its shard): not used, the cut is found', async () => {
    const records = await anchoredChain();
    const shard = shardFileOf('a');
    const entries = JSON.parse(readFileSync(file(shard), 'utf8')) as Record<string, string>;
    delete entries['charge#a'];
    overwrite(shard, `${JSON.stringify(entries)}\n`);
    expect((await find('a')).problem).toBe('shard_mismatch');
    expect(await verifyA(records.slice(0, 3))).toMatchObject({ valid: false, reason: 'cut_off' });
  });

  it('the newest manifest deleted: every digest is read, the cut is found', async () => {
    const records = await anchoredChain();
    rmSync(file(manifestFile(digests[2]!.digestId)));
    expect((await find('a')).problem).toBe('no_manifest');
    expect(await verifyA(records.slice(0, 3))).toMatchObject({ valid: false, reason: 'cut_off' });
  });

  it('an older manifest copied over the newest (a rolled-back index): refused, since it names another digest', async () => {
    const records = await anchoredChain();
    overwrite(manifestFile(digests[2]!.digestId), readFileSync(file(manifestFile(digests[0]!.digestId)), 'utf8'));
    expect((await find('a')).problem).toBe('manifest_invalid');
    expect(await verifyA(records.slice(0, 3))).toMatchObject({ valid: false, reason: 'cut_off' });
  });

  it('a manifest rewritten to point at an older digest and signed with another key: refused', async () => {
    const records = await anchoredChain();
    const forged = manifestOf(digests[2]!);
    const shard = shardOf('charge#a');
    forged.shards[shard] = manifestOf(digests[0]!).shards[shard]!;
    const other = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'other-key-')));
    const { signature: _, ...body } = forged;
    const hash = createHash('sha256').update(canonicalJson(body)).digest('hex');
    forged.signature = Buffer.from(await other.sign(Buffer.from(hash, 'utf8'))).toString('base64');
    overwrite(manifestFile(digests[2]!.digestId), JSON.stringify(forged));
    expect((await find('a')).problem).toBe('manifest_invalid');
    // The same manifest, unsigned edits kept: its signature no longer matches either.
    forged.signature = manifestOf(digests[0]!).signature;
    overwrite(manifestFile(digests[2]!.digestId), JSON.stringify(forged));
    expect((await find('a')).problem).toBe('manifest_invalid');
    expect(await verifyA(records.slice(0, 3))).toMatchObject({ valid: false, reason: 'cut_off' });
  });

  it('the digest the index names is gone: every digest is read', async () => {
    rmSync(file(`${digests[2]!.digestId}.json`), { force: true });
    // The newest digest is now d2, whose manifest has a at d1.
    expect((await find('a')).digests.map((d) => d.digestId)).toEqual([digests[0]!.digestId]);
  });

  it('an index that starts after the first digest: an entity it does not hold is looked up in the older digests', async () => {
    rmSync(file(manifestFile(digests[2]!.digestId)));
    const d4 = await buildDigest(signer, digests[2], [head('d', 1)], '2026-12-07T10:00:00.000Z');
    await store.put(d4);
    const manifest = await writeDigestIndex(signer, store, d4, digests[2]!.digestId);
    expect(manifest.indexedSince).toBe(d4.digestId);
    expect((await find('d')).digests.map((d) => d.digestId)).toEqual([d4.digestId]);
    // `b` was listed by d1 only, before the index began.
    expect((await find('b')).digests.map((d) => d.digestId)).toContain(digests[0]!.digestId);
    expect((await find('b')).digests.every((d) => d.digestId < d4.digestId)).toBe(true);
  });
});

describe('S3: the digest file from one Buffer, index files read back', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  afterEach(() => vi.unstubAllGlobals());
  const store = () =>
    new S3DigestStore(
      new S3Client({ region: 'eu-central-1' }),
      'bucket',
      10,
      new S3DigestReader('bucket', 'eu-central-1', async () => TEST_CREDENTIALS),
    );

  it("puts the digest as JSON.stringify's text, locked, never over an existing key", async () => {
    s3.on(PutObjectCommand).resolves({});
    const signer = new LocalDigestSigner(mkdtempSync(join(tmpdir(), 'index-s3-')));
    const digest = await buildDigest(signer, undefined, [head('a', 1), head('b', 2)], '2026-12-07T09:00:00.000Z');
    await store().put(digest);
    const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Key: `digests/${digest.digestId}.json`,
      ObjectLockMode: 'COMPLIANCE',
      IfNoneMatch: '*',
    });
    expect(Buffer.from(input.Body as Uint8Array).toString('utf8')).toBe(`${JSON.stringify(digest, null, 2)}\n`);
  });

  it('getFile answers the text, or undefined for a missing key; latestId lists without reading', async () => {
    const bucket = fakeS3({
      bucket: 'bucket',
      region: 'eu-central-1',
      objects: new Map([
        ['index/x/manifest.json', '{"kind":"audit-digest-index"}'],
        ['digests/a.json', '{}'],
        ['digests/b.json', '{}'],
      ]),
    });
    vi.stubGlobal('fetch', bucket.fetch);
    expect(await store().getFile('index/x/manifest.json')).toBe('{"kind":"audit-digest-index"}');
    expect(await store().getFile('index/y/manifest.json')).toBeUndefined();
    bucket.requests.length = 0;
    expect(await store().latestId()).toBe('b');
    expect(bucket.requests.every((r) => new URL(r.url).pathname === '/')).toBe(true);
    expect(s3.calls()).toHaveLength(0);
  });
});
