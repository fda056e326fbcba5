import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { digestIdOf } from '#audit/digest';
import { LATEST_LOOKBACK_DAYS, S3DigestReader } from '#audit/s3-digest-reader';
import { awsDigestReadAdapters, digestReadAdapters } from '#audit/digest-read-adapters';
import { digestAdapters, resetDigestAdapters, useDigestAdapters } from '#audit/digest-adapters';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { resetConfig } from '#platform/config';
import { isDependencyUnavailable } from '#platform/http/error-response';
import { type FakeS3, fakeS3, s3Error, sigV4Problem, TEST_CREDENTIALS } from '#test/support/fake-s3';

const BUCKET = 'audit-digests-1a2b3c';
const REGION = 'eu-central-1';

afterEach(() => vi.unstubAllGlobals());

/** A reader against a fake bucket that stands in for the global fetch, as aws4fetch calls it. */
function setup(objects = new Map<string, string>(), pageSize?: number) {
  const s3 = fakeS3({ bucket: BUCKET, region: REGION, objects, ...(pageSize ? { pageSize } : {}) });
  vi.stubGlobal('fetch', s3.fetch);
  return { s3, reader: new S3DigestReader(BUCKET, REGION, async () => TEST_CREDENTIALS) };
}

const lists = (s3: FakeS3) => s3.requests.filter((r) => new URL(r.url).pathname === '/');
const gets = (s3: FakeS3) => s3.requests.filter((r) => r.method === 'GET' && new URL(r.url).pathname !== '/');
const digestKey = (until: string) => `digests/${digestIdOf(until)}.json`;

describe('the SigV4 check the fake bucket applies', () => {
  it("agrees with AWS's published GetObject example, and refuses it with one digit of the signature changed", () => {
    const signature = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
    const request = (sig: string) =>
      new Request('https://examplebucket.s3.amazonaws.com/test.txt', {
        headers: {
          Range: 'bytes=0-9',
          'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          'x-amz-date': '20130524T000000Z',
          Authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${sig}`,
        },
      });
    const credentials = {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    };
    expect(sigV4Problem(request(signature), credentials, 'us-east-1')).toBeUndefined();
    expect(sigV4Problem(request(`${signature.slice(0, -1)}0`), credentials, 'us-east-1')).toBe(
      'signature does not match',
    );
  });
});

describe('S3DigestReader: signed requests', () => {
  it('GetObject: virtual-hosted URL, the key encoded, signed for s3 in the region with the session token', async () => {
    const name = 'index/2026-12-07T09-00-00-000Z/a b+c=(d).json';
    const { s3, reader } = setup(new Map([[name, '{"kind":"audit-digest-index"}']]));
    expect(await reader.getFile(name)).toBe('{"kind":"audit-digest-index"}');
    const [request] = s3.requests;
    expect(request?.method).toBe('GET');
    expect(request?.url).toBe(
      `https://${BUCKET}.s3.${REGION}.amazonaws.com/index/2026-12-07T09-00-00-000Z/a%20b%2Bc%3D%28d%29.json`,
    );
    expect(request?.headers.get('x-amz-security-token')).toBe(TEST_CREDENTIALS.sessionToken);
    expect(request?.headers.get('authorization')).toContain(
      `Credential=${TEST_CREDENTIALS.accessKeyId}/${request?.headers.get('x-amz-date')?.slice(0, 8)}/${REGION}/s3/aws4_request`,
    );
    // The fake verified the signature itself; here it is checked once more, explicitly.
    expect(sigV4Problem(request as Request, TEST_CREDENTIALS, REGION)).toBeUndefined();
  });

  it('a request signed with other credentials is refused by the bucket, and the refusal is an error', async () => {
    const { s3 } = setup(new Map([['digests/a.json', '{}']]));
    const reader = new S3DigestReader(BUCKET, REGION, async () => ({
      ...TEST_CREDENTIALS,
      secretAccessKey: 'not-the-key',
    }));
    await expect(reader.getFile('digests/a.json')).rejects.toThrow(
      'S3 GetObject digests/a.json: 403 SignatureDoesNotMatch',
    );
    expect(s3.requests).toHaveLength(1);
  });

  it('without credentials in the environment, a read fails and sends nothing', async () => {
    const s3 = fakeS3({ bucket: BUCKET, region: REGION, objects: new Map([['digests/a.json', '"x"']]) });
    vi.stubGlobal('fetch', s3.fetch);
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    try {
      await expect(new S3DigestReader(BUCKET, REGION).getFile('digests/a.json')).rejects.toThrow(/credentials/i);
      expect(s3.requests).toHaveLength(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads the credentials from the environment when it first sends, not before', async () => {
    const s3 = fakeS3({ bucket: BUCKET, region: REGION, objects: new Map([['digests/a.json', '"x"']]) });
    vi.stubGlobal('fetch', s3.fetch);
    vi.stubEnv('AWS_ACCESS_KEY_ID', TEST_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', TEST_CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', TEST_CREDENTIALS.sessionToken);
    try {
      expect(await new S3DigestReader(BUCKET, REGION).getFile('digests/a.json')).toBe('"x"');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('S3DigestReader: missing objects and errors', () => {
  it('NoSuchKey is undefined, HEAD 404 is false; an existing object is its text, HEAD 200 true', async () => {
    const { reader } = setup(
      new Map([['digests/2026-12-07T09-00-00-000Z.json', '{"digestId":"2026-12-07T09-00-00-000Z"}']]),
    );
    expect(await reader.getFile('index/x/manifest.json')).toBeUndefined();
    expect(await reader.get('2026-12-07T10-00-00-000Z')).toBeUndefined();
    expect(await reader.hasFile('archives/2026-11.jsonl')).toBe(false);
    expect(await reader.get('2026-12-07T09-00-00-000Z')).toEqual({ digestId: '2026-12-07T09-00-00-000Z' });
    expect(await reader.hasFile('digests/2026-12-07T09-00-00-000Z.json')).toBe(true);
  });

  it('an id that is no digest id is not asked for', async () => {
    const { s3, reader } = setup();
    expect(await reader.get('../index/x/manifest')).toBeUndefined();
    expect(s3.requests).toHaveLength(0);
  });

  it('403 AccessDenied on the listing is an error, never an empty list: verify must not see "no digests"', async () => {
    const { s3, reader } = setup(new Map([['digests/a.json', '{}']]));
    s3.answer = (r) => (new URL(r.url).pathname === '/' ? s3Error(403, 'AccessDenied') : undefined);
    await expect(reader.latestId()).rejects.toThrow('S3 ListObjectsV2 digests/: 403 AccessDenied');
    await expect(reader.list()).rejects.toThrow('403 AccessDenied');
    await expect(reader.latest()).rejects.toThrow('403 AccessDenied');
  });

  it('403 on GetObject or HeadObject, and a missing bucket, are errors, not "no such object"', async () => {
    const { s3, reader } = setup(new Map([['digests/a.json', '{}']]));
    s3.answer = (r) => s3Error(403, 'AccessDenied', r.method);
    await expect(reader.getFile('digests/a.json')).rejects.toThrow('S3 GetObject digests/a.json: 403 AccessDenied');
    await expect(reader.get('a')).rejects.toThrow('403 AccessDenied');
    await expect(reader.hasFile('digests/a.json')).rejects.toThrow('S3 HeadObject digests/a.json: 403');
    s3.answer = (r) => s3Error(404, 'NoSuchBucket', r.method);
    await expect(reader.getFile('digests/a.json')).rejects.toThrow('404 NoSuchBucket');
    await expect(reader.latestId()).rejects.toThrow('404 NoSuchBucket');
  });

  it('retries a 503 SlowDown and answers; a 500 that persists is an error after three attempts', async () => {
    const { s3, reader } = setup(new Map([['digests/a.json', '"ok"']]));
    let failures = 1;
    s3.answer = (r) => (failures-- > 0 ? s3Error(503, 'SlowDown', r.method) : undefined);
    expect(await reader.getFile('digests/a.json')).toBe('"ok"');
    expect(s3.requests).toHaveLength(2);
    s3.requests.length = 0;
    s3.answer = (r) => s3Error(500, 'InternalError', r.method);
    await expect(reader.getFile('digests/a.json')).rejects.toThrow('500 InternalError');
    expect(s3.requests).toHaveLength(3);
  });
});

describe('S3DigestReader: outages are outages', () => {
  it('a 5xx or 429 that persists is a dependency outage (503); 403 and NoSuchBucket are not', async () => {
    const { s3, reader } = setup(new Map([['digests/a.json', '{}']]));
    const failure = async (status: number, code: string) => {
      s3.answer = (r) => s3Error(status, code, r.method);
      return reader.getFile('digests/a.json').then(
        () => undefined,
        (err: unknown) => err,
      );
    };
    expect(isDependencyUnavailable(await failure(503, 'SlowDown'))).toBe(true);
    expect(isDependencyUnavailable(await failure(429, 'TooManyRequests'))).toBe(true);
    expect(isDependencyUnavailable(await failure(403, 'AccessDenied'))).toBe(false);
    expect(isDependencyUnavailable(await failure(404, 'NoSuchBucket'))).toBe(false);
  });

  it('a bucket that never answers fails the read with a TimeoutError (an outage), not a hung request', async () => {
    const hanging = (input: string | URL | Request) =>
      new Promise<Response>((_, reject) => {
        const signal = (input as Request).signal;
        signal.addEventListener('abort', () => reject(signal.reason as Error));
      });
    vi.stubGlobal('fetch', hanging);
    const reader = new S3DigestReader(BUCKET, REGION, async () => TEST_CREDENTIALS, 50);
    const err = await reader.latestId().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('TimeoutError');
    expect(isDependencyUnavailable(err)).toBe(true);
  });
});

describe('S3DigestReader: ListObjectsV2', () => {
  // AWS's documented ListObjectsV2 answers (API reference, "Listing keys using the continuation-token"), with the
  // bucket's own keys: the first page truncated with a NextContinuationToken, the second with one object.
  const firstPage = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>${BUCKET}</Name>
  <Prefix>digests/</Prefix>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>digests/2026-12-07T09-00-00-000Z.json</Key>
    <LastModified>2013-09-17T18:07:53.000Z</LastModified>
    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>
    <Size>857</Size>
    <StorageClass>REDUCED_REDUNDANCY</StorageClass>
  </Contents>
  <Contents>
    <Key>digests/2026-12-07T09-15-00-000Z.json</Key>
    <LastModified>2013-09-17T18:07:53.000Z</LastModified>
    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag>
    <Size>857</Size>
    <StorageClass>REDUCED_REDUNDANCY</StorageClass>
  </Contents>
</ListBucketResult>`;
  const secondPage = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>${BUCKET}</Name>
  <Prefix>digests/</Prefix>
  <ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken>
  <KeyCount>1</KeyCount>
  <MaxKeys>2</MaxKeys>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>digests/2026-12-07T09-30-00-000Z.json</Key>
    <LastModified>2013-09-17T18:07:53.000Z</LastModified>
    <ETag>&quot;8b3b3a4ee0c41e3ba2cd4cc09e3b8b8b&quot;</ETag>
    <Size>857</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
</ListBucketResult>`;

  it("parses S3's XML, follows NextContinuationToken (sent encoded), and reads one object page alike", async () => {
    const { s3, reader } = setup();
    s3.answer = (r) => {
      if (new URL(r.url).pathname !== '/') return undefined;
      return new Response(new URL(r.url).searchParams.has('continuation-token') ? secondPage : firstPage);
    };
    expect(await reader.latestId(new Date('2026-12-07T10:00:00.000Z'))).toBe('2026-12-07T09-30-00-000Z');
    const [first, second] = lists(s3).map((r) => new URL(r.url).search);
    expect(first).toBe('?list-type=2&prefix=digests%2F&start-after=digests%2F2026-12-06T10-00-00-000Z');
    expect(second).toContain('&continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D');
    expect(new URL(lists(s3)[1]!.url).searchParams.get('continuation-token')).toBe(
      '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=',
    );
  });

  it('a listing that says it is truncated but gives no token is an error, not the end', async () => {
    const { s3, reader } = setup();
    s3.answer = () => new Response(firstPage.replace(/<NextContinuationToken>.*<\/NextContinuationToken>/, ''));
    await expect(reader.latestId()).rejects.toThrow(/truncated without a continuation token/);
  });

  it('an empty listing (no Contents) is no digest; an answer that is no listing is an error', async () => {
    const { s3, reader } = setup();
    expect(await reader.latestId()).toBeUndefined();
    s3.answer = () => new Response('<?xml version="1.0" encoding="UTF-8"?>\n<Other/>');
    await expect(reader.latestId()).rejects.toThrow(/no ListBucketResult/);
  });

  it('follows every page: 2 500 keys, 1 000 a page, tokens with + / = in them', async () => {
    const at = (i: number) => new Date(Date.parse('2026-12-06T00:00:00.000Z') + i * 30_000).toISOString();
    const objects = new Map(Array.from({ length: 2_500 }, (_, i) => [digestKey(at(i)), '{}'] as const));
    const { s3, reader } = setup(objects);
    expect(await reader.latestId(new Date(Date.parse(at(2_499)) + 60_000))).toBe(digestIdOf(at(2_499)));
    const requests = lists(s3);
    expect(requests).toHaveLength(3);
    const tokens = requests.map((r) => new URL(r.url).searchParams.get('continuation-token'));
    expect(tokens[0]).toBeNull();
    for (const token of tokens.slice(1)) expect(token).toMatch(/^1\+.*\/=$/);
    for (const r of requests.slice(1)) expect(new URL(r.url).search).toMatch(/continuation-token=1%2B[^&]*%2F%3D/);
  });

  it('list reads each digest of the prefix and keeps those in [from, to], oldest first', async () => {
    const digest = (until: string) => JSON.stringify({ digestId: digestIdOf(until), until });
    const untils = ['2026-12-05T09:00:00.000Z', '2026-12-06T09:00:00.000Z', '2026-12-07T09:00:00.000Z'];
    const objects = new Map<string, string>([
      ...untils.map((u) => [digestKey(u), digest(u)] as const),
      ['digests/notes.txt', 'not a digest'],
    ]);
    const { reader } = setup(objects);
    const listed = await reader.list('2026-12-06T00:00:00.000Z', '2026-12-07T23:59:59.999Z');
    expect(listed.map((d) => d.until)).toEqual(untils.slice(1));
  });
});

describe('S3DigestReader: the newest digest without reading every digest', () => {
  const at = (i: number) => new Date(Date.parse('2025-01-01T00:00:00.000Z') + i * 15 * 60_000).toISOString();
  const bucketOf = (n: number) =>
    new Map(
      Array.from({ length: n }, (_, i) => [digestKey(at(i)), JSON.stringify({ digestId: digestIdOf(at(i)) })] as const),
    );

  it('one List and one Get for the newest of 30 000 digests (about ten months of them)', async () => {
    const { s3, reader } = setup(bucketOf(30_000));
    const latest = await reader.latest(new Date(Date.parse(at(29_999)) + 60_000));
    expect(latest?.digestId).toBe(digestIdOf(at(29_999)));
    expect(lists(s3)).toHaveLength(1);
    expect(gets(s3)).toHaveLength(1);
  });

  it('after a quiet month it widens the window step by step, and still reads one digest', async () => {
    const { s3, reader } = setup(bucketOf(3_000));
    const now = new Date(Date.parse(at(2_999)) + 40 * 86_400_000);
    expect((await reader.latest(now))?.digestId).toBe(digestIdOf(at(2_999)));
    // 1 and 8 days back: nothing; 64 days back: found (its listing runs to a few pages of 1000 keys).
    const startAfters = lists(s3).map((r) => new URL(r.url).searchParams.get('start-after'));
    expect([...new Set(startAfters)]).toEqual(
      LATEST_LOOKBACK_DAYS.slice(0, 3).map(
        (days) => `digests/${digestIdOf(new Date(now.getTime() - days * 86_400_000).toISOString())}`,
      ),
    );
    expect(gets(s3)).toHaveLength(1);
  });

  it('an empty bucket is no digest, after one listing of the whole prefix', async () => {
    const { s3, reader } = setup();
    expect(await reader.latest()).toBeUndefined();
    expect(new URL(lists(s3).at(-1)!.url).searchParams.has('start-after')).toBe(false);
    expect(lists(s3)).toHaveLength(LATEST_LOOKBACK_DAYS.length + 1);
    expect(gets(s3)).toHaveLength(0);
  });
});

describe("the verify function's adapters", () => {
  it('in AWS: the signed-fetch reader on the configured bucket and region, and the KMS key for the public key', () => {
    vi.stubEnv('AUDIT_DIGEST_BUCKET', BUCKET);
    vi.stubEnv('AWS_REGION', REGION);
    resetConfig();
    try {
      const { store } = awsDigestReadAdapters();
      expect(store).toBeInstanceOf(S3DigestReader);
    } finally {
      vi.unstubAllEnvs();
      resetConfig();
    }
  });

  it('installing writing adapters (the local runtime, tests) makes the readers read the same store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'digest-adapters-'));
    const signer = new LocalDigestSigner(join(dir, 'keys'));
    useDigestAdapters(() => ({ signer, store: new LocalDigestStore(join(dir, 'digests'), signer) }));
    try {
      expect(digestReadAdapters().store).toBe(digestAdapters().store);
      expect(digestReadAdapters().signer).toBe(signer);
    } finally {
      resetDigestAdapters();
    }
  });
});
