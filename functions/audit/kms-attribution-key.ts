import { GenerateMacCommand, KMSInvalidMacException, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import type { AttributionKey } from './attribution';

/** The attribution key in KMS: an HMAC_256 key; who may GenerateMac and who may VerifyMac is the key policy's. */
export class KmsAttributionKey implements AttributionKey {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async mac(message: Uint8Array): Promise<Uint8Array> {
    const out = await this.kms.send(
      new GenerateMacCommand({ KeyId: this.keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    if (!out.Mac) throw new Error('KMS GenerateMac returned no MAC');
    return out.Mac;
  }

  async verify(message: Uint8Array, mac: Uint8Array): Promise<boolean> {
    try {
      const out = await this.kms.send(
        new VerifyMacCommand({ KeyId: this.keyId, Message: message, Mac: mac, MacAlgorithm: 'HMAC_SHA_256' }),
      );
      return out.MacValid === true;
    } catch (err) {
      // KMS answers a MAC that does not match with this exception, not with MacValid: false.
      if (err instanceof KMSInvalidMacException) return false;
      throw err;
    }
  }
}
