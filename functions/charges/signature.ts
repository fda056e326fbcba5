import { createHash } from 'node:crypto';
import { canonicalJson } from '#audit/canonical-json';
import type { SignatureRecord } from '#auth/signatures';
import type { ChargeState } from './model';

/**
 * What a signature vouches for: the charge as written in one version — every field, its version number, time,
 * author, reason and request included — without the signature itself, the attribution stamp and MAC (made over
 * the signature, after it) and the storage keys.
 */
export function versionContent(version: ChargeState | Record<string, unknown>): Record<string, unknown> {
  const {
    signature: _signature,
    lastChange: _lastChange,
    lastChangeMac: _mac,
    sk: _sk,
    listPk: _listPk,
    listSk: _listSk,
    ...content
  } = version as Record<string, unknown>;
  return content;
}

/** SHA-256 (hex) of the canonical JSON of a version's content: the `versionHash` a signature carries. */
export function versionHash(version: ChargeState | Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonicalJson(versionContent(version)), 'utf8')
    .digest('hex');
}

/** Whether the signature was made on exactly this version: copied onto any other version (or record), it fails. */
export function verifySignatureBinding(
  version: ChargeState | Record<string, unknown>,
  signature: Pick<SignatureRecord, 'versionHash'> | undefined,
): boolean {
  return signature !== undefined && signature.versionHash === versionHash(version);
}

/** The signature made on this version, if any: later versions carry the last signature along unchanged. */
export function signatureOf(version: ChargeState): SignatureRecord | undefined {
  return verifySignatureBinding(version, version.signature) ? version.signature : undefined;
}
