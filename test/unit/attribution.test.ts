import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenerateMacCommand, KMSClient, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { attributionMessage, stampItem, verifiedLastChange } from '#audit/attribution';
import { KmsAttributionKey } from '#audit/kms-attribution-key';
import { LocalAttributionKey } from '#local/adapters/local-attribution-key';

const kms = mockClient(KMSClient);
afterEach(() => kms.reset());

const UNSIGNED = new Set(['sk']);
const item = {
  chargeId: 'c-1',
  sk: 'CHARGE',
  status: 'quarantine',
  version: 1,
  lastChange: {
    actor: { userId: 'u-1', username: 'olga' },
    reason: null,
    requestId: 'r-1',
    at: '2026-01-01T00:00:00Z',
  },
};

describe('KmsAttributionKey', () => {
  it('GenerateMac with HMAC_SHA_256 over the 32-byte digest; VerifyMac answers valid', async () => {
    kms.on(GenerateMacCommand).resolves({ Mac: new Uint8Array([1, 2, 3]) });
    kms.on(VerifyMacCommand).resolves({ MacValid: true });
    const key = new KmsAttributionKey(new KMSClient({ region: 'eu-central-1' }), 'alias/attribution');
    const stamped = await stampItem(key, 'charge', 'c-1', item, UNSIGNED);
    expect(stamped.lastChangeMac).toBe(Buffer.from([1, 2, 3]).toString('base64'));
    const generate = kms.commandCalls(GenerateMacCommand)[0]!.args[0].input;
    expect(generate).toMatchObject({ KeyId: 'alias/attribution', MacAlgorithm: 'HMAC_SHA_256' });
    expect(generate.Message).toHaveLength(32);
    expect(await verifiedLastChange(key, 'charge', 'c-1', stamped, UNSIGNED)).toEqual(item.lastChange);
    expect(kms.commandCalls(VerifyMacCommand)[0]!.args[0].input).toMatchObject({
      KeyId: 'alias/attribution',
      Mac: new Uint8Array([1, 2, 3]),
    });
  });

  it('KMSInvalidMacException is "not valid", not an error; other errors are thrown', async () => {
    const key = new KmsAttributionKey(new KMSClient({ region: 'eu-central-1' }), 'k');
    kms.on(VerifyMacCommand).rejects(new KMSInvalidMacException({ message: 'bad', $metadata: {} }));
    expect(await key.verify(new Uint8Array(32), new Uint8Array(32))).toBe(false);
    kms.on(VerifyMacCommand).rejects(new Error('AccessDenied'));
    await expect(key.verify(new Uint8Array(32), new Uint8Array(32))).rejects.toThrow('AccessDenied');
  });
});

describe('LocalAttributionKey', () => {
  it('keeps its key in a 0600 file, the same for every instance; any change to the item or its id fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attribution-'));
    const key = new LocalAttributionKey(dir);
    expect(statSync(join(dir, 'attribution.key')).mode & 0o777).toBe(0o600);
    const stamped = await stampItem(key, 'charge', 'c-1', item, UNSIGNED);
    const again = new LocalAttributionKey(dir);
    expect(await verifiedLastChange(again, 'charge', 'c-1', stamped, UNSIGNED)).toEqual(item.lastChange);
    // Storage keys it does not cover may differ; content, stamp and entity id may not.
    expect(await verifiedLastChange(again, 'charge', 'c-1', { ...stamped, sk: 'V#1' }, UNSIGNED)).toBeDefined();
    expect(await verifiedLastChange(again, 'charge', 'c-2', stamped, UNSIGNED)).toBeUndefined();
    expect(
      await verifiedLastChange(again, 'charge', 'c-1', { ...stamped, status: 'released' }, UNSIGNED),
    ).toBeUndefined();
    const otherActor = { ...stamped, lastChange: { ...item.lastChange, actor: { userId: 'qa', username: 'qa' } } };
    expect(await verifiedLastChange(again, 'charge', 'c-1', otherActor, UNSIGNED)).toBeUndefined();
    expect(
      await verifiedLastChange(
        new LocalAttributionKey(mkdtempSync(join(tmpdir(), 'other-'))),
        'charge',
        'c-1',
        stamped,
        UNSIGNED,
      ),
    ).toBeUndefined();
  });

  it('the message does not depend on attribute order', () => {
    const reversed = Object.fromEntries(Object.entries(item).reverse());
    expect(attributionMessage('charge', 'c-1', reversed, UNSIGNED)).toEqual(
      attributionMessage('charge', 'c-1', item, UNSIGNED),
    );
  });
});
