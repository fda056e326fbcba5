import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { utimesSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENT_ADDRESS_HEADER } from '#local/dev-protocol';
import { childEnv } from '#local/child-env';
import { freePort } from '#local/free-port';
import { eventually, GiveUp } from '#test/support/eventually';

const ROOT = resolve(import.meta.dirname, '../..');
const SAVED_FILE = resolve(ROOT, 'functions/ops/health.ts');

let dev: ChildProcess | undefined;
let output = '';
afterAll(() => {
  if (dev?.exitCode === null) dev.kill('SIGKILL');
});

/** The first match of `pattern` in the output after `from`; gives up at once if `npm run dev` has exited. */
const waitFor = (pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<RegExpExecArray> =>
  eventually(
    () => {
      const match = pattern.exec(output.slice(from));
      if (match) return match;
      const message = `no ${pattern} in:\n${output}`;
      throw dev?.exitCode !== null ? new GiveUp(message) : new Error(message);
    },
    { attempts: timeoutMs / 20, intervalMs: 20 },
  );

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portOpen = (port: number) =>
  new Promise<boolean>((ok) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => ok(!!socket.destroy()));
    socket.once('error', () => ok(false));
  });

describe('npm run dev', () => {
  it('reloads on save without refusing a request, and Ctrl-C leaves nothing running', async () => {
    const [port, dynamoPort] = await Promise.all([freePort(), freePort()]);
    dev = spawn(process.execPath, [resolve(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'local/dev.ts', '--in-memory'], {
      cwd: ROOT,
      env: childEnv({
        DYNAMODB_ENDPOINT: undefined,
        PORT: String(port),
        DYNAMODB_LOCAL_PORT: String(dynamoPort),
        LOG_LEVEL: 'SILENT',
        LOGIN_RATE_LIMIT_PER_MINUTE: '5',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    dev.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor(/Charge Records API on/);

    // A client that keeps asking all through the reload.
    const statuses: (number | string)[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          statuses.push((await fetch(`http://127.0.0.1:${port}/status/health`)).status);
        } catch (err) {
          statuses.push(String(err));
        }
      }
    })();

    const before = output.length;
    const now = new Date();
    utimesSync(SAVED_FILE, now, now);
    const [, pid] = await waitFor(/Reloaded: the new code answers after \d+ ms \(pid (\d+)\)/, before);
    await new Promise((r) => setTimeout(r, 300));
    polling = false;
    await poller;

    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(alive(Number(pid))).toBe(true);

    // The worker sees the client's own address: the supervisor overwrites the header it passes it in.
    // 11 attempts span at most two rate-limit windows, so one of them holds more than the limit of 5.
    const logins: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CLIENT_ADDRESS_HEADER]: `10.2.0.${i}` },
        body: JSON.stringify({ username: `dev-spoof-${i}`, password: 'password-spraying-attempt' }),
      });
      logins.push(res.status);
    }
    expect(logins).toContain(429);

    // The supervisor parses the client's HTTP itself: what its parser refuses is answered in the API's error shape.
    const raw = await new Promise<string>((ok, fail) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET /status/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'),
      );
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.once('close', () => ok(text));
      socket.once('error', fail);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/\r\nX-Request-ID: [0-9a-f-]{36}\r\n/i);
    expect(raw).toMatch(/\r\nX-Content-Type-Options: nosniff\r\n/i);
    expect(raw).toContain('"code":"BAD_REQUEST"');

    dev.kill('SIGINT');
    const code = await new Promise((ok) => dev?.once('exit', ok));
    expect(code).toBe(0);
    expect(alive(Number(pid))).toBe(false);
    expect(await portOpen(dynamoPort)).toBe(false);
    expect(await portOpen(port)).toBe(false);
  }, 120_000);
});
