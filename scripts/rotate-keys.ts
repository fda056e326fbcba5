/**
 * `npm run rotate-keys [-- --force]`: rotates the local signing key with the production rotation handler
 * (four steps, fresh ClientRequestToken). A running `npm start` sees the new key within a second: the JWKS
 * grows by one key and tokens minted before the rotation keep working until their own `exp`.
 *
 * Refused while the previous rotation's overlap window is still open (a second rotation would drop the
 * key that signed still-valid tokens from the JWKS); `--force` rotates anyway (e.g. a leaked key).
 *
 * The rotation is recorded on the audit trail in the DynamoDB Local of the running `npm start`
 * (DYNAMODB_ENDPOINT, default port DYNAMODB_LOCAL_PORT or 8000). If it cannot be reached, nothing is rotated.
 */
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '#local/paths';

process.env.LOCAL_STATE_DIR ??= resolve(PROJECT_ROOT, '.local');
// As the local runtime sets them: the audit record goes to the running `npm start`'s DynamoDB Local, never to AWS.
process.env.DYNAMODB_ENDPOINT ??= `http://127.0.0.1:${process.env.DYNAMODB_LOCAL_PORT ?? 8000}`;
process.env.AWS_REGION ??= 'eu-central-1';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
if (process.env.SIGNING_SECRET_ID) {
  console.error('SIGNING_SECRET_ID is set: rotate the AWS secret with `aws secretsmanager rotate-secret` instead.');
  process.exit(1);
}

const { config } = await import('#platform/config');
(await import('#local/adapters/index')).installLocalAdapters();
const { signingAdapters } = await import('#signing/adapters');
const { secondsUntilSafeRotation } = await import('#signing/rotation');
const { rotateLocalSigningKey } = await import('#local/signing');

const wait = await secondsUntilSafeRotation(signingAdapters(), config().signingKeyOverlapSeconds);
if (wait > 0 && !process.argv.includes('--force')) {
  console.error(
    `The last rotation's overlap window is still open for ${wait} s: rotating now would cut off tokens signed ` +
      'by the previous key. Wait, or pass --force.',
  );
  process.exit(2);
}
const { token, kid } = await rotateLocalSigningKey().catch((err: unknown) => {
  console.error(
    `Rotation failed: ${(err as Error).message}\n` +
      `The rotation is recorded on the audit trail before the new key is promoted: is \`npm start\` running, with ` +
      `DynamoDB Local on ${process.env.DYNAMODB_ENDPOINT}? The next run resumes the unfinished rotation.`,
  );
  process.exit(1);
});
console.log(`Rotated: AWSCURRENT is now kid ${kid} (rotation ${token}); keys in ${config().LOCAL_STATE_DIR}/keys`);
