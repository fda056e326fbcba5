import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_DYNAMODB_TIMEOUTS, dynamoClientConfig } from '#platform/dynamo';
import { isDependencyUnavailable } from '#platform/http/error-response';

// A DynamoDB that accepts connections and never answers: the hung-connection outage the AWS timeouts are for.
let hung: Server;
const sockets = new Set<Socket>();
let endpoint: string;
beforeAll(async () => {
  hung = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((ok) => hung.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((ok) => hung.close(() => ok()));
});

describe('DynamoDB client configuration', () => {
  it('in AWS (no DYNAMODB_ENDPOINT) sets connection and request timeouts; locally it keeps the SDK defaults', () => {
    expect(dynamoClientConfig({ AWS_REGION: 'eu-central-1', DYNAMODB_ENDPOINT: undefined })).toEqual({
      region: 'eu-central-1',
      requestHandler: AWS_DYNAMODB_TIMEOUTS,
    });
    const local = dynamoClientConfig({ AWS_REGION: 'eu-central-1', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });
    expect(local).not.toHaveProperty('requestHandler');
    expect(local.endpoint).toBe('http://127.0.0.1:8000');
  });

  it('with the AWS settings, a DynamoDB that hangs fails within the retries × request timeout, as an outage (503)', async () => {
    const aws = dynamoClientConfig({ AWS_REGION: 'eu-central-1', DYNAMODB_ENDPOINT: undefined });
    // The AWS settings, aimed at the hung server (credentials so the SDK does not look for any).
    const client = new DynamoDBClient({ ...aws, endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const started = performance.now();
    const error = await client
      .send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }))
      .catch((err: unknown) => err);
    const seconds = (performance.now() - started) / 1000;
    client.destroy();
    expect(error).toBeInstanceOf(Error);
    expect(isDependencyUnavailable(error)).toBe(true);
    // Three attempts of 2 s plus back-off: far below the 10–29 s the API functions may run (no timing bound
    // beyond that: the machine is shared).
    expect(seconds).toBeLessThan(10 * 3 * (AWS_DYNAMODB_TIMEOUTS.requestTimeout / 1000));
    expect(seconds).toBeGreaterThanOrEqual(AWS_DYNAMODB_TIMEOUTS.requestTimeout / 1000 - 0.1);
  }, 60_000);
});
