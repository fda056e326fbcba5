import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv } from '#local/child-env';
import { freePort } from '#local/free-port';

const ROOT = resolve(import.meta.dirname, '../..');

/** Processes (pid and command line) whose command line holds all of these words. */
function processesWith(...words: string[]): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => words.every((w) => line.includes(w)));
}

const refuses = (port: number) =>
  new Promise<boolean>((ok) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      ok(false);
    });
    socket.once('error', () => ok(true));
  });

describe('kill <npm start pid>', () => {
  it('SIGTERM stops the server and DynamoDB Local, and removes the in-memory run’s directory', async () => {
    const dynamoPort = await freePort();
    const tmp = mkdtempSync(join(tmpdir(), 'sigterm-tmp-'));
    const npm = spawn('npm', ['start', '--', '--in-memory'], {
      cwd: ROOT,
      env: childEnv({ TMPDIR: tmp, DYNAMODB_ENDPOINT: '', PORT: '0', DYNAMODB_LOCAL_PORT: String(dynamoPort) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((ok) => npm.once('exit', (code) => ok(code)));
    const apiUrl = await new Promise<URL>((ok, fail) => {
      npm.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const url = /Charge Records API on (\S+)/.exec(output)?.[1];
        if (url) ok(new URL(url));
      });
      void exited.then(() => fail(new Error(`npm start exited early:\n${output}`)));
    });
    expect(processesWith('LoopbackDynamoDbLocal', `-port ${dynamoPort}`)).toHaveLength(1);

    npm.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The server, its Java process and the scratch directory (keys, reports) are gone once npm has exited.
    await expect
      .poll(() => processesWith('LoopbackDynamoDbLocal', `-port ${dynamoPort}`), { timeout: 10_000 })
      .toEqual([]);
    expect(await refuses(Number(apiUrl.port))).toBe(true);
    expect(await refuses(dynamoPort)).toBe(true);
    expect(readdirSync(tmp).filter((name) => name.startsWith('charge-records-'))).toEqual([]);
  }, 180_000);
});
