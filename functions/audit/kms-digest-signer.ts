import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { DigestSigner } from './digest';

/** The digest signing key in KMS: ECC_NIST_P256, SIGN_VERIFY; only the digest function may kms:Sign. */
export class KmsDigestSigner implements DigestSigner {
  constructor(
    private readonly kms: KMSClient,
    readonly keyId: string,
  ) {}

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const out = await this.kms.send(
      new SignCommand({ KeyId: this.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    if (!out.Signature) throw new Error('KMS Sign returned no signature');
    return out.Signature;
  }

  async publicKeyPem(): Promise<string> {
    const out = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    if (!out.PublicKey) throw new Error('KMS GetPublicKey returned no key');
    const base64 = Buffer.from(out.PublicKey).toString('base64');
    return `-----BEGIN PUBLIC KEY-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
  }
}
