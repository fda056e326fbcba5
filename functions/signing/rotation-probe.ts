/**
 * The hourly key-age probe (lib/constructs/signing-keys.ts schedules it): an EventBridge rule invokes the rotation
 * function with this event, which records `SigningKeyAgeSeconds` and rotates nothing. Without it the age is only
 * reported when a rotation or a JWKS request happens, so a rotation that silently stopped would never be seen.
 * No imports: the CDK app reads it too.
 */
export const KEY_AGE_PROBE = { probe: 'key-age' } as const;
export type KeyAgeProbe = typeof KEY_AGE_PROBE;

export function isKeyAgeProbe(event: unknown): event is KeyAgeProbe {
  return typeof event === 'object' && event !== null && (event as { probe?: unknown }).probe === KEY_AGE_PROBE.probe;
}
