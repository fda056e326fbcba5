import { randomBytes } from 'node:crypto';
import { beforeAll, inject } from 'vitest';

// Runs in each test file's process before the file's imports: handlers read this environment at init.
process.env.DYNAMODB_ENDPOINT = inject('dynamoEndpoint');
process.env.TABLE_PREFIX = `t${randomBytes(4).toString('hex')}-`;
process.env.AWS_REGION = 'eu-central-1';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.BOOTSTRAP_ADMIN_PASSWORD = 'test-admin-password-1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// The local runtime's adapters, as `npm start` installs them (AWS-adapter tests install theirs per test).
// In a hook, not at import: the modules behind them create the logger, and some files set LOG_LEVEL first.
beforeAll(async () => {
  const { installLocalAdapters } = await import('#local/adapters/index');
  installLocalAdapters();
});
