import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv } from '#local/child-env';

const ROOT = resolve(import.meta.dirname, '../..');

describe('npm start without Java', () => {
  it('exits 1 with one line naming what to install, and starts and leaves nothing', () => {
    // A PATH that has node but no java: a folder holding only a link to this node binary.
    const bin = mkdtempSync(join(tmpdir(), 'no-java-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    // --in-memory makes a scratch directory under TMPDIR: it must be gone again when start-up fails.
    const tmp = mkdtempSync(join(tmpdir(), 'no-java-tmp-'));
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'local/start.ts', '--in-memory'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: childEnv({ PATH: bin, TMPDIR: tmp, DYNAMODB_ENDPOINT: '', PORT: '0', DYNAMODB_LOCAL_PORT: '1' }),
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(1);
    const lines = run.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('(node:') && !l.includes('NodeVersionSupportWarning'));
    expect(lines.at(-1)).toMatch(
      /^DynamoDB Local needs Java 17 or newer: install it \(e\.g\. `apt-get install openjdk-17-jre-headless`\)/,
    );
    expect(readdirSync(tmp).filter((name) => name.startsWith('charge-records-'))).toEqual([]);
  });
});
