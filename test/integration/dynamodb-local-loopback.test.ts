import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';

/**
 * DynamoDB Local holds every table, password hashes included, and answers any signature: it must be reachable from
 * this machine only. The run's instance is started by the same code as `npm start`'s (startDynamoDbLocal).
 */
const endpoint = new URL(process.env.DYNAMODB_ENDPOINT as string);
const port = Number(endpoint.port);

/** This machine's own addresses other than loopback (IPv6 link-local ones need a scope, and are left out). */
const ownAddresses = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
  .map((a) => a!.address);
const ipv4 = ownAddresses.filter((a) => !a.includes(':'));

/** 'connected', or the error code the connection attempt ended with. */
function tryConnect(host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe('DynamoDB Local listens on loopback only', () => {
  it('answers ListTables on 127.0.0.1', async () => {
    const client = new DynamoDBClient({
      endpoint: endpoint.href,
      region: 'eu-central-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await expect(client.send(new ListTablesCommand({ Limit: 1 }))).resolves.toBeDefined();
    } finally {
      client.destroy();
    }
  });

  const noOtherAddress = ipv4.length === 0; // a machine without a non-loopback IPv4 address has nothing to try
  it.skipIf(noOtherAddress)("refuses connections on this machine's network addresses", async () => {
    for (const address of ownAddresses) expect([address, await tryConnect(address)]).toEqual([address, 'ECONNREFUSED']);
  });
});
