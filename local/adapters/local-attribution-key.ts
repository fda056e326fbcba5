import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttributionKey } from '#audit/attribution';
import { config } from '#platform/config';

/**
 * The local attribution key: 32 random bytes in `<dir>/attribution.key` (0600), made on first use. Created with
 * the exclusive flag so two processes starting together end up with the same key.
 */
export class LocalAttributionKey implements AttributionKey {
  private readonly secret: Buffer;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'attribution.key');
    try {
      writeFileSync(file, randomBytes(32).toString('base64'), { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    chmodSync(file, 0o600);
    this.secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (this.secret.length < 32) throw new Error(`${file} does not hold a 32-byte key`);
  }

  async mac(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(createHmac('sha256', this.secret).update(message).digest());
  }

  async verify(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    const expected = createHmac('sha256', this.secret).update(message).digest();
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  }
}

/** The key under `${LOCAL_STATE_DIR}/keys/`. */
export const localAttributionKeyFromConfig = (): AttributionKey =>
  new LocalAttributionKey(join(config().LOCAL_STATE_DIR, 'keys'));
