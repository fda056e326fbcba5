import { createHash, createHmac } from 'node:crypto';

/** Credentials as Lambda hands them out: a temporary key with its session token. */
export const TEST_CREDENTIALS = {
  accessKeyId: 'ASIAEXAMPLEKEY123456',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//////////wEaDGV1LWNlbnRyYWwtMSJH+token==',
};

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));

/**
 * Checks a request's SigV4 `Authorization` header the way S3 does, from the request as sent (raw path, raw query,
 * the headers it names): written from AWS's description of the algorithm, not from the client under test.
 * Answers what is wrong, or undefined.
 */
export function sigV4Problem(request: Request, credentials: Credentials, region: string): string | undefined {
  const auth = request.headers.get('authorization') ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return `no SigV4 Authorization header: ${auth}`;
  const [, accessKeyId, date, scopeRegion, service, signedList, signature] = m as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return `access key ${accessKeyId}`;
  if (scopeRegion !== region) return `signed for region ${scopeRegion}`;
  if (service !== 's3') return `signed for service ${service}`;
  const amzDate = request.headers.get('x-amz-date') ?? '';
  if (!amzDate.startsWith(date as string)) return 'x-amz-date is not the credential date';
  const signed = (signedList as string).split(';');
  for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date']) {
    if (!signed.includes(required)) return `${required} not signed`;
  }
  if (credentials.sessionToken !== undefined) {
    if (request.headers.get('x-amz-security-token') !== credentials.sessionToken) return 'no or another session token';
    if (!signed.includes('x-amz-security-token')) return 'session token not signed';
  }
  const url = new URL(request.url);
  const query = url.search
    .slice(1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      const [k, v] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      return [rfc3986(decode(k)), rfc3986(decode(v))] as const;
    })
    .sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signed
    .map((h) => `${h}:${(h === 'host' ? url.host : (request.headers.get(h) ?? '')).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = request.headers.get('x-amz-content-sha256') ?? '';
  const canonical = [request.method, url.pathname, query, headers, signed.join(';'), payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date as string), region), 's3'),
    'aws4_request',
  );
  const expected = hmac(key, stringToSign).toString('hex');
  return expected === signature ? undefined : 'signature does not match';
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An S3 error answer: `<Error><Code>…</Code>…` (a HEAD answer carries no body). */
export function s3Error(status: number, code: string, method = 'GET'): Response {
  const body =
    method === 'HEAD'
      ? null
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>x</HostId></Error>`;
  return new Response(body, { status, headers: { 'Content-Type': 'application/xml' } });
}

export interface FakeS3 {
  /** Stand in for the global fetch (vi.stubGlobal('fetch', s3.fetch)). */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Every request, as sent. */
  requests: Request[];
  objects: Map<string, string>;
  /** Answers a request before the bucket does (an error, a throttle); undefined lets the bucket answer. */
  answer?: (request: Request) => Response | undefined;
}

/**
 * One S3 bucket behind `fetch`, as its REST API answers: GetObject, HeadObject and ListObjectsV2 (from
 * `start-after`, `max-keys` keys a page with opaque continuation tokens, XML as S3 writes it). A request that is
 * not SigV4-signed for this region with these credentials gets S3's 403 SignatureDoesNotMatch.
 */
export function fakeS3({
  bucket,
  region,
  credentials = TEST_CREDENTIALS,
  objects = new Map<string, string>(),
  pageSize = 1000,
}: {
  bucket: string;
  region: string;
  credentials?: Credentials;
  objects?: Map<string, string>;
  pageSize?: number;
}): FakeS3 {
  const fake: FakeS3 = {
    requests: [],
    objects,
    fetch: async (input, init) => {
      const request = input instanceof Request && init === undefined ? input : new Request(input, init);
      fake.requests.push(request);
      const url = new URL(request.url);
      if (url.protocol !== 'https:' || url.host !== `${bucket}.s3.${region}.amazonaws.com`) {
        return s3Error(400, 'UnexpectedHost', request.method);
      }
      if (sigV4Problem(request, credentials, region)) return s3Error(403, 'SignatureDoesNotMatch', request.method);
      const answered = fake.answer?.(request);
      if (answered) return answered;
      if (url.pathname === '/') return list(url.searchParams);
      const key = decodeURIComponent(url.pathname.slice(1));
      const body = objects.get(key);
      if (request.method === 'HEAD') return body === undefined ? s3Error(404, 'NotFound', 'HEAD') : new Response(null);
      if (request.method !== 'GET') return s3Error(405, 'MethodNotAllowed');
      return body === undefined ? s3Error(404, 'NoSuchKey') : new Response(body);
    },
  };
  const tokenOf = (lastKey: string) => `1+${Buffer.from(lastKey, 'utf8').toString('base64')}/=`;
  const keyOf = (token: string) => Buffer.from(token.slice(2, -2), 'base64').toString('utf8');

  function list(params: URLSearchParams): Response {
    if (params.get('list-type') !== '2') return s3Error(400, 'InvalidArgument');
    const prefix = params.get('prefix') ?? '';
    const token = params.get('continuation-token');
    const startAfter = params.get('start-after');
    if (token !== null && !token.startsWith('1+')) return s3Error(400, 'InvalidArgument');
    const after = token !== null ? keyOf(token) : startAfter;
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(prefix) && (after === null || k > after))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = keys.slice(0, pageSize);
    const truncated = keys.length > pageSize;
    const contents = page
      .map(
        (k) =>
          `<Contents><Key>${xmlEscape(k)}</Key><LastModified>2026-12-07T09:00:00.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>${Buffer.byteLength(objects.get(k) ?? '')}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join('');
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
      (token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '') +
      (truncated ? `<NextContinuationToken>${xmlEscape(tokenOf(page.at(-1) as string))}</NextContinuationToken>` : '') +
      `<KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys>` +
      (startAfter !== null ? `<StartAfter>${xmlEscape(startAfter)}</StartAfter>` : '') +
      `<IsTruncated>${truncated}</IsTruncated>${contents}</ListBucketResult>`;
    return new Response(xml, { headers: { 'Content-Type': 'application/xml' } });
  }
  return fake;
}
