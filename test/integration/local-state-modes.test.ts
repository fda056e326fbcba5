import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableName } from '#platform/tables';
import type { Digest } from '#audit/digest';
import { LocalDigestSigner, LocalDigestStore } from '#local/adapters/local-digests';
import { LocalMailer } from '#local/adapters/local-mailer';
import { LocalObjectStore } from '#local/adapters/local-object-store';
import { StreamPoller } from '#local/stream-poller';
import { createTables } from '#test/support/streams';
import { eventually } from '#test/support/eventually';
import { userWith } from '#test/support/events';
import { seedChargeAs } from '#test/support/charges';

/**
 * The local runtime's state is its owner's alone: report files and their metadata, the link secret, the mail outbox,
 * the audit stream's failure log and checkpoints are 0600 in 0700 folders, whatever the umask.
 */
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

let umask: number;
beforeAll(() => {
  // A umask that narrows nothing: the modes must come from the code, not from the environment.
  umask = process.umask(0);
});
afterAll(() => process.umask(umask));

const fresh = () => mkdtempSync(join(tmpdir(), 'state-modes-'));

describe('report files (LocalObjectStore)', () => {
  it('the file, its metadata and the link secret are 0600, every folder on the way 0700', async () => {
    const stateDir = fresh();
    const source = join(stateDir, 'export.csv');
    writeFileSync(source, 'a,b\r\n', { mode: 0o666 });
    const store = new LocalObjectStore(stateDir, () => 'http://127.0.0.1');
    await store.putFile('runs/r-1/report.csv', source, 'text/csv');
    await store.downloadUrl('runs/r-1/report.csv', 'report.csv');

    const root = join(stateDir, 'reports');
    expect([root, join(root, 'runs'), join(root, 'runs', 'r-1')].map(mode)).toEqual(['700', '700', '700']);
    expect(
      [join(root, 'runs/r-1/report.csv'), join(root, 'runs/r-1/report.csv.meta.json'), join(root, '.link-secret')].map(
        mode,
      ),
    ).toEqual(['600', '600', '600']);
  });

  it('a report folder made wider by an older version is narrowed', async () => {
    const stateDir = fresh();
    mkdirSync(join(stateDir, 'reports'), { mode: 0o755 });
    chmodSync(join(stateDir, 'reports'), 0o755);
    const source = join(stateDir, 'export.csv');
    writeFileSync(source, 'x');
    await new LocalObjectStore(stateDir, () => 'http://127.0.0.1').putFile('exports/x.csv', source, 'text/csv');
    expect(mode(join(stateDir, 'reports'))).toBe('700');
  });
});

describe('the outbox (LocalMailer)', () => {
  it('each .eml is 0600 in a 0700 outbox, also one that was wider', async () => {
    const stateDir = fresh();
    mkdirSync(join(stateDir, 'outbox'), { mode: 0o777 });
    chmodSync(join(stateDir, 'outbox'), 0o777);
    const mailer = new LocalMailer(stateDir, 'reports@charge-records.local');
    await mailer.send({ to: ['qa@example.com'], subject: 'Report', text: 'Link' });
    const outbox = join(stateDir, 'outbox');
    expect(mode(outbox)).toBe('700');
    const files = readdirSync(outbox);
    expect(files).toHaveLength(1);
    expect(mode(join(outbox, files[0] as string))).toBe('600');
  });
});

describe('audit digests (LocalDigestStore)', () => {
  it('each digest and the public key are readable by the owner only, in a 0700 folder, also one that was wider', async () => {
    const stateDir = fresh();
    const dir = join(stateDir, 'digests');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const store = new LocalDigestStore(dir, new LocalDigestSigner(join(stateDir, 'keys')));
    await store.put({ digestId: '2026-01-01T00-00-00Z', heads: [] } as unknown as Digest);
    expect(mode(dir)).toBe('700');
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['2026-01-01T00-00-00Z.json', 'public-key.pem']);
    // Digests are kept read-only (0400), as a locked object is: owner-only all the same.
    for (const file of files) expect(statSync(join(dir, file)).mode & 0o077).toBe(0);
    expect(mode(join(stateDir, 'keys', 'digest-signing.pem'))).toBe('600');
  });
});

describe('the audit stream state (StreamPoller)', () => {
  beforeAll(createTables);

  it('the failure log and the checkpoints are 0600; a new state folder is 0700', async () => {
    const stateDir = join(fresh(), 'state');
    const poller = (fail: boolean) =>
      new StreamPoller({
        endpoint: process.env.DYNAMODB_ENDPOINT as string,
        tables: [tableName('charges')],
        stateDir,
        retryAttempts: 1,
        intervalMs: 10,
        log: () => undefined,
        deliver: async (event) => ({
          batchItemFailures: fail ? [{ itemIdentifier: event.Records[0]!.dynamodb!.SequenceNumber! }] : [],
        }),
      });
    const warmup = poller(false);
    for (let idle = 0; idle < 3;) idle = (await warmup.pollOnce()) === 0 ? idle + 1 : 0;
    await warmup.stop();

    await seedChargeAs(userWith(['operator'], 'olga'), { articleId: 'P-MODES' });
    const failing = poller(true);
    await eventually(
      async () => {
        await failing.pollOnce();
        expect(existsSync(failing.onFailureFile)).toBe(true);
      },
      { attempts: 40, intervalMs: 15 },
    );
    await failing.stop();
    expect(mode(stateDir)).toBe('700');
    expect(mode(failing.onFailureFile)).toBe('600');
    expect(mode(join(stateDir, 'stream-checkpoints.json'))).toBe('600');
  });
});
