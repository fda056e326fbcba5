import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '#local/child-env';
import { freePort } from '#local/free-port';

const ROOT = resolve(import.meta.dirname, '../..');

/** `npm start -- --in-memory` with these ports, its scratch directory under a fresh TMPDIR; stderr without Node's notices. */
function startWith(ports: { PORT: number; DYNAMODB_LOCAL_PORT: number }) {
  // --in-memory makes a scratch directory under TMPDIR: it must not be left behind (or not be made at all).
  const tmp = mkdtempSync(join(tmpdir(), 'port-in-use-tmp-'));
  const run = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'local/start.ts', '--in-memory'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: childEnv({
        TMPDIR: tmp,
        DYNAMODB_ENDPOINT: '',
        PORT: String(ports.PORT),
        DYNAMODB_LOCAL_PORT: String(ports.DYNAMODB_LOCAL_PORT),
      }),
      timeout: 60_000,
    },
  );
  const lines = run.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('(node:') && !l.includes('NodeVersionSupportWarning'));
  const scratchLeft = readdirSync(tmp).filter((name) => name.startsWith('charge-records-'));
  return { run, lines, scratchLeft };
}

/** A taken PORT is one line and exit code 1, before DynamoDB Local, tables or the admin are set up: no stack trace. */
describe('npm start with PORT in use', () => {
  const blocker = createServer();
  let port: number;
  beforeAll(async () => {
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    port = (blocker.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((ok) => blocker.close(() => ok())));

  it('exits 1 with one line naming the port and PORT, before starting DynamoDB Local, and leaves nothing', async () => {
    // Should DynamoDB Local start after all, it gets a port of its own, not the default 8000.
    const { run, lines, scratchLeft } = startWith({ PORT: port, DYNAMODB_LOCAL_PORT: await freePort() });
    expect(run.status, run.stderr).toBe(1);
    expect(lines).toEqual([
      `Port ${port} is in use: stop the other server, or set PORT to a free port (e.g. PORT=${port + 1} npm start).`,
    ]);
    expect(run.stdout).not.toMatch(/DynamoDB Local on|Created/);
    expect(scratchLeft).toEqual([]);
  });

  it('DYNAMODB_LOCAL_PORT in use: one line naming it, exit 1 — never quietly using the other instance and its data', async () => {
    const { run, lines, scratchLeft } = startWith({ PORT: await freePort(), DYNAMODB_LOCAL_PORT: port });
    expect(run.status, run.stderr).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Port ${port} \\(DYNAMODB_LOCAL_PORT\\) is in use`));
    expect(run.stdout).not.toMatch(/DynamoDB Local on|Created/);
    expect(scratchLeft).toEqual([]);
  });
});
