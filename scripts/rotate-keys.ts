/**
 * `npm run rotate-keys [-- --force]`: rotates the local signing key with the production rotation handler
 * (four steps, fresh ClientRequestToken). A running `npm start` sees the new key within a second: the JWKS
 * grows by one key and tokens minted before the rotation keep working until their own `exp`.
 *
 * Refused while the previous rotation's overlap window is still open (a second rotation would drop the
 * key that signed still-valid tokens from the JWKS); `--force` rotates anyway (e.g. a leaked key).
 */
import { resolve } from 'node:path';
import { PROJECT_ROOT } from './local/paths';

process.env.LOCAL_STATE_DIR ??= resolve(PROJECT_ROOT, '.local');
if (process.env.SIGNING_SECRET_ID) {
  console.error('SIGNING_SECRET_ID is set: rotate the AWS secret with `aws secretsmanager rotate-secret` instead.');
  process.exit(1);
}

const { config } = await import('../functions/shared/config');
const { signingAdapters } = await import('../functions/shared/signing/adapters');
const { secondsUntilSafeRotation } = await import('../functions/shared/signing/rotation');
const { rotateLocalSigningKey } = await import('./local/signing');

const wait = await secondsUntilSafeRotation(signingAdapters(), config().signingKeyOverlapSeconds);
if (wait > 0 && !process.argv.includes('--force')) {
  console.error(
    `The last rotation's overlap window is still open for ${wait} s: rotating now would cut off tokens signed ` +
      'by the previous key. Wait, or pass --force.',
  );
  process.exit(2);
}
const { token, kid } = await rotateLocalSigningKey();
console.log(`Rotated: AWSCURRENT is now kid ${kid} (rotation ${token}); keys in ${config().LOCAL_STATE_DIR}/keys`);
