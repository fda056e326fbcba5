import { parseXML } from '@aws-sdk/xml-builder';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { AwsClient } from 'aws4fetch';
import { type Digest, digestIdOf, type DigestReader } from './digest';

export const DIGEST_PREFIX = 'digests/';

/**
 * How far back `latestId()` looks, one listing after the other (digest keys sort by time, and S3 lists from a key
 * on): the first window nearly always holds the newest digest, so finding it costs one List and one Get however
 * many digests the bucket holds. Only after 512 quiet days is the whole prefix listed.
 */
export const LATEST_LOOKBACK_DAYS = [1, 8, 64, 512] as const;

/**
 * An S3 answer that is neither success nor a missing object: never read as "no digests". It carries the SDK's
 * error traits (`$metadata.httpStatusCode`, `$fault`), so a 5xx or 429 is an outage (503) like an SDK client's.
 */
export class S3ReadError extends Error {
  readonly $metadata: { httpStatusCode: number };
  readonly $fault: 'client' | 'server';

  constructor(
    readonly status: number,
    /** S3's `<Code>` (`AccessDenied`, `NoSuchBucket`, …); a HEAD answer has no body, so none. */
    readonly code: string | undefined,
    what: string,
  ) {
    super(`S3 ${what}: ${status}${code ? ` ${code}` : ''}`);
    this.name = 'S3ReadError';
    this.$metadata = { httpStatusCode: status };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

/** One read, retries included: a hanging connection fails (TimeoutError, a 503) long before the Lambda's timeout. */
const READ_TIMEOUT_MS = 5_000;

type XmlObject = Record<string, unknown>;
const isObject = (v: unknown): v is XmlObject => typeof v === 'object' && v !== null && !Array.isArray(v);
/** parseXML gives one repeated element as a value, several as an array. */
const all = (v: unknown): unknown[] => (v === undefined || v === '' ? [] : Array.isArray(v) ? v : [v]);
/** RFC 3986 (what SigV4 and S3 expect), `/` kept in keys. */
const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function errorCode(text: string): string | undefined {
  try {
    const error = parseXML(text).Error;
    return isObject(error) && typeof error.Code === 'string' ? error.Code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The digests in the Object Lock bucket, read with SigV4-signed HTTP requests (aws4fetch): GetObject, HeadObject,
 * ListObjectsV2. The API function that verifies against the digests needs nothing more, and the S3 SDK client
 * (its XML protocol, every S3 schema, checksums, endpoint rules) would weigh on its bundle and cold start; only
 * the digest job, which writes, carries it. Keys sort by time (`digests/<until>.json`).
 */
export class S3DigestReader implements DigestReader {
  private client?: Promise<AwsClient>;

  constructor(
    private readonly bucket: string,
    private readonly region: string,
    // The role's credentials, which Lambda puts in every function's environment: the SDK's own env provider.
    private readonly credentials: ReturnType<typeof fromEnv> = fromEnv(),
    private readonly timeoutMs = READ_TIMEOUT_MS,
  ) {}

  // Two retries of a 5xx or 429 with jittered backoff, as the SDK's standard mode would.
  private aws(): Promise<AwsClient> {
    this.client ??= this.credentials().then(
      ({ accessKeyId, secretAccessKey, sessionToken }) =>
        new AwsClient({
          accessKeyId,
          secretAccessKey,
          sessionToken,
          service: 's3',
          region: this.region,
          retries: 2,
          initRetryMs: 100,
        }),
      (err: unknown) => {
        this.client = undefined;
        throw err;
      },
    );
    return this.client;
  }

  private async send(method: 'GET' | 'HEAD', url: string): Promise<Response> {
    return (await this.aws()).fetch(url, { method, signal: AbortSignal.timeout(this.timeoutMs) });
  }

  private url(key: string, query: Record<string, string | undefined> = {}): string {
    const search = Object.entries(query)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([k, v]) => `${k}=${encode(v)}`)
      .join('&');
    const path = key.split('/').map(encode).join('/');
    return `https://${this.bucket}.s3.${this.region}.amazonaws.com/${path}${search ? `?${search}` : ''}`;
  }

  /** The object's text; undefined when S3 says NoSuchKey. */
  async getFile(name: string): Promise<string | undefined> {
    const res = await this.send('GET', this.url(name));
    if (res.ok) return res.text();
    const code = errorCode(await res.text());
    if (res.status === 404 && code === 'NoSuchKey') return undefined;
    throw new S3ReadError(res.status, code, `GetObject ${name}`);
  }

  async hasFile(name: string): Promise<boolean> {
    const res = await this.send('HEAD', this.url(name));
    await res.body?.cancel();
    if (res.ok) return true;
    if (res.status === 404) return false;
    throw new S3ReadError(res.status, undefined, `HeadObject ${name}`);
  }

  async get(digestId: string): Promise<Digest | undefined> {
    if (!/^[0-9A-Za-z-]+$/.test(digestId)) return undefined;
    const text = await this.getFile(`${DIGEST_PREFIX}${digestId}.json`);
    return text === undefined ? undefined : (JSON.parse(text) as Digest);
  }

  /** Digest ids (sorted) of the keys after `startAfter`, every page of the listing. */
  private async ids(startAfter?: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const query = {
        'list-type': '2',
        prefix: DIGEST_PREFIX,
        'start-after': startAfter,
        'continuation-token': token,
      };
      const res = await this.send('GET', this.url('', query));
      const text = await res.text();
      if (!res.ok) throw new S3ReadError(res.status, errorCode(text), `ListObjectsV2 ${DIGEST_PREFIX}`);
      const result = parseXML(text).ListBucketResult;
      if (!isObject(result)) throw new Error(`S3 ListObjectsV2 ${DIGEST_PREFIX}: no ListBucketResult in the answer`);
      for (const object of all(result.Contents)) {
        const key = isObject(object) ? object.Key : undefined;
        if (typeof key === 'string' && key.startsWith(DIGEST_PREFIX) && key.endsWith('.json')) {
          ids.push(key.slice(DIGEST_PREFIX.length, -'.json'.length));
        }
      }
      token = undefined;
      if (result.IsTruncated === 'true') {
        if (typeof result.NextContinuationToken !== 'string' || result.NextContinuationToken === '') {
          throw new Error(`S3 ListObjectsV2 ${DIGEST_PREFIX}: truncated without a continuation token`);
        }
        token = result.NextContinuationToken;
      }
    } while (token);
    return ids.sort();
  }

  async list(from?: string, to?: string): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const id of await this.ids()) {
      const digest = await this.get(id);
      if (digest && (from === undefined || digest.until >= from) && (to === undefined || digest.until <= to)) {
        out.push(digest);
      }
    }
    return out;
  }

  async latest(now = new Date()): Promise<Digest | undefined> {
    const id = await this.latestId(now);
    return id === undefined ? undefined : this.get(id);
  }

  async latestId(now = new Date()): Promise<string | undefined> {
    for (const days of [...LATEST_LOOKBACK_DAYS, undefined]) {
      const from = days === undefined ? undefined : new Date(now.getTime() - days * 86_400_000).toISOString();
      const id = (await this.ids(from === undefined ? undefined : `${DIGEST_PREFIX}${digestIdOf(from)}`)).at(-1);
      if (id !== undefined) return id;
    }
    return undefined;
  }
}
