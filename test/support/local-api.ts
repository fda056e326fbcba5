import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { startLocalRuntime, type LocalRuntime } from '#local/runtime';
import { checkResponse } from './openapi-contract';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as-is (no JSON encoding), e.g. malformed JSON. */
  rawBody?: string | Buffer;
  token?: string;
  /** Client source address: any 127.0.0.0/8 address reaches the server, so tests can be "another IP". */
  localAddress?: string;
}

export interface LocalApi {
  runtime: LocalRuntime;
  url: string;
  request(path: string, options?: RequestOptions): Promise<ApiResponse>;
  stop(): Promise<void>;
}

/**
 * The local server on a free port against the run's DynamoDB Local, with this test file's own tables and
 * state directory: tests talk to it over real HTTP, as a client would.
 */
export async function startLocalApi(options: { log?: (line: string) => void } = {}): Promise<LocalApi> {
  const stateDir = mkdtempSync(join(tmpdir(), 'charge-records-test-'));
  const runtime = await startLocalRuntime({
    port: 0,
    dynamoEndpoint: process.env.DYNAMODB_ENDPOINT,
    stateDir,
    // The runtime's own lines (start-up, one per request): only for a test that reads them.
    log: options.log ?? (() => undefined),
  });
  const url = runtime.url;

  const request = (path: string, options: RequestOptions = {}) =>
    new Promise<ApiResponse>((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      let payload: string | Buffer | undefined = options.rawBody;
      if (options.body !== undefined) {
        payload = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      // Node sends DELETE/GET bodies without chunked encoding: without a length the server misreads them.
      if (payload !== undefined) headers['content-length'] ??= String(Buffer.byteLength(payload));
      const req = httpRequest(
        `${url}${path}`,
        { method: options.method ?? 'GET', headers, localAddress: options.localAddress },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            const response = { status: res.statusCode ?? 0, headers: res.headers, text, json };
            // Every answer must be one the OpenAPI document describes: a mismatch fails the test that asked.
            try {
              checkResponse({ method: options.method ?? 'GET', target: path, ...response });
            } catch (err) {
              reject(err as Error);
              return;
            }
            resolve(response);
          });
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });

  return {
    runtime,
    url,
    request,
    async stop() {
      await runtime.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
