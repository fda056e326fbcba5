import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretError, LocalSecrets } from '#local/adapters/local-signing-keys';

let dir: string;
let secrets: LocalSecrets;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-secrets-'));
  secrets = new LocalSecrets(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const stages = async () => (await secrets.describe()).versionStages;

describe('local secret store: Secrets Manager stage semantics', () => {
  it('gives a label to one version only, and moving AWSCURRENT hands AWSPREVIOUS to the version it left', async () => {
    await secrets.putValue('v1', 'one', ['AWSCURRENT']);
    await secrets.putValue('v2', 'two', ['AWSPENDING']);
    expect(await stages()).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });

    await secrets.updateStage('AWSCURRENT', 'v2', 'v1');
    expect(await stages()).toEqual({ v1: ['AWSPREVIOUS'], v2: ['AWSPENDING', 'AWSCURRENT'] });

    await secrets.putValue('v3', 'three', ['AWSPENDING']);
    await secrets.updateStage('AWSCURRENT', 'v3', 'v2');
    // v1 lost AWSPREVIOUS and every label: like Secrets Manager, it is no longer listed.
    expect(await stages()).toEqual({ v2: ['AWSPREVIOUS'], v3: ['AWSPENDING', 'AWSCURRENT'] });
    expect(await secrets.getValue({ stage: 'AWSPREVIOUS' })).toMatchObject({ versionId: 'v2', value: 'two' });
    expect(await secrets.getValue({ versionId: 'v1' })).toMatchObject({ value: 'one', stages: [] });
  });

  it('refuses to move a label without naming the version that holds it', async () => {
    await secrets.putValue('v1', 'one', ['AWSCURRENT']);
    await secrets.putValue('v2', 'two', ['AWSPENDING']);
    await expect(secrets.updateStage('AWSCURRENT', 'v2')).rejects.toBeInstanceOf(LocalSecretError);
    await expect(secrets.updateStage('AWSCURRENT', 'v2', 'v9')).rejects.toThrow(/currently attached to version v1/);
    expect(await stages()).toEqual({ v1: ['AWSCURRENT'], v2: ['AWSPENDING'] });
  });

  it('treats a repeated put of the same version as a no-op and another value as an error', async () => {
    await secrets.putValue('v1', 'one', ['AWSPENDING']);
    await secrets.putValue('v1', 'one', ['AWSPENDING']);
    await expect(secrets.putValue('v1', 'other', ['AWSPENDING'])).rejects.toMatchObject({
      code: 'ResourceExistsException',
    });
    expect(await secrets.getValue({ versionId: 'v1' })).toMatchObject({ value: 'one' });
  });

  it('stages a value-less AWSPENDING stub on beginRotation, and resumes an unfinished rotation', async () => {
    await secrets.putValue('v1', 'one', ['AWSCURRENT']);
    expect(await secrets.beginRotation('t1')).toBe('t1');
    expect(await stages()).toEqual({ v1: ['AWSCURRENT'], t1: ['AWSPENDING'] });
    expect(await secrets.getValue({ versionId: 't1' })).toBeUndefined();
    expect(await secrets.getValue({ stage: 'AWSPENDING' })).toBeUndefined();
    // Still pending: a new request resumes it with its own token.
    expect(await secrets.beginRotation('t2')).toBe('t1');
    await secrets.putValue('t1', 'new', ['AWSPENDING']);
    expect(await secrets.getValue({ stage: 'AWSPENDING' })).toMatchObject({ versionId: 't1', value: 'new' });
  });

  it('is shared through the file: a second instance sees every change', async () => {
    await secrets.putValue('v1', 'one', ['AWSCURRENT']);
    const before = secrets.revision();
    const other = new LocalSecrets(dir);
    await other.tag({ a: 'b' });
    expect(secrets.revision()).not.toBe(before);
    expect((await secrets.describe()).tags).toEqual({ a: 'b' });
  });
});
