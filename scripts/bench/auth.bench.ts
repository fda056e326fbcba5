import { createSign, createVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchReport } from './index';
import { fmt, freePort, percentile } from './support';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const WARMUP = 1000;

/**
 * The authorizer end to end against DynamoDB Local (verify + one BatchGetItem for user/revocation/session +
 * one UpdateItem for the rate counter) next to its floor in the same run: one raw crypto.verify plus the same
 * two raw DynamoDB round trips. And the login's password hashing cost, known vs unknown username.
 */
export async function run(): Promise<BenchReport> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-auth-'));
  // Before any handler module loads: Powertools reads these at construction.
  process.env.LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { startLocalRuntime } = await import('#local/runtime');
  process.env.DYNAMODB_LOCAL_PORT = String(await freePort());
  process.env.RATE_LIMIT_PER_MINUTE = String(10 * CALLS);
  process.env.BOOTSTRAP_ADMIN_PASSWORD = 'bench-admin-password';
  const runtime = await startLocalRuntime({ port: 0, inMemory: true, stateDir, log: () => undefined });
  try {
    const { AuthService } = await import('#auth/service');
    const { UserStore } = await import('#users/store');
    const auth = new AuthService(new UserStore());
    const { handler } = await import('#auth/authorizer');
    const { documentDb } = await import('#platform/dynamo');
    const { tableName } = await import('#platform/tables');
    const { BatchGetCommand, UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const { hashPassword } = await import('#users/passwords');
    const { lambdaContext } = await import('#local/lambda-context');

    const meta = { requestId: 'bench', sourceIp: '127.0.0.1' };
    const tokens = await auth.login('admin', 'bench-admin-password', meta);
    const event = {
      type: 'REQUEST' as const,
      methodArn: 'arn:aws:execute-api:local:000000000000:local/v1/GET/users/me',
      resource: '/users/me',
      path: '/users/me',
      httpMethod: 'GET',
      headers: { Authorization: `Bearer ${tokens.accessToken}` },
      multiValueHeaders: {},
      pathParameters: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      stageVariables: null,
      requestContext: {} as never,
    };
    // A fresh context per call, as Lambda gives: middy aborts when the remaining time runs out.
    const context = () => lambdaContext('bench-authorizer', 5, 512);
    const authorizerCall = async () => {
      const result = await handler(event, context());
      if (result.policyDocument.Statement[0]?.Effect !== 'Allow') throw new Error('authorizer denied the bench token');
    };

    // The floor: the irreducible work of the same decision.
    const { privateKey, publicKey } = await import('node:crypto').then((c) =>
      c.generateKeyPairSync('rsa', { modulusLength: 2048 }),
    );
    const [h, p] = tokens.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as {
      sub: string;
      jti: string;
      sid: string;
    };
    const input = Buffer.from(`${h}.${p}`);
    const signature = createSign('RSA-SHA256').update(input).sign(privateKey);
    const db = documentDb();
    const floorCall = async (i: number) => {
      createVerify('RSA-SHA256').update(input).verify(publicKey, signature);
      await db.send(
        new BatchGetCommand({
          RequestItems: {
            // The very items the authorizer reads: the user, the token's revocation marker, its session.
            [tableName('users')]: { Keys: [{ pk: `user#${claims.sub}` }], ConsistentRead: true },
            [tableName('auth-state')]: {
              Keys: [{ pk: `revoked#${claims.jti}` }, { pk: `family#${claims.sid}` }],
              ConsistentRead: true,
            },
          },
        }),
      );
      await db.send(
        new UpdateCommand({
          TableName: tableName('auth-state'),
          Key: { pk: `bench#${Math.floor(i / 1000)}` },
          UpdateExpression: 'ADD #c :one',
          ExpressionAttributeNames: { '#c': 'count' },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    };

    // Interleaved call by call, the order swapped every call: DynamoDB Local's JIT and garbage collector, and the
    // machine's drift, then weigh on both alike (measured one after the other, whichever ran first took the
    // warm-up's leftovers into its tail). The warm-up is long enough for the JVM to compile DynamoDB Local's hot path.
    const ours: number[] = [];
    const floor: number[] = [];
    const timed = async (list: number[] | undefined, call: () => Promise<void>) => {
      const t = performance.now();
      await call();
      list?.push(performance.now() - t);
    };
    for (let i = 0; i < WARMUP + CALLS; i++) {
      const measured = i >= WARMUP;
      const a = () => timed(measured ? ours : undefined, authorizerCall);
      const b = () => timed(measured ? floor : undefined, () => floorCall(i));
      if (i % 2 === 0) {
        await a();
        await b();
      } else {
        await b();
        await a();
      }
    }

    // Password hashing, and login timing for a known vs an unknown username (wrong password both times).
    const hashes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await hashPassword(randomBytes(12).toString('hex'));
      hashes.push(performance.now() - t);
    }
    const known: number[] = [];
    const unknown: number[] = [];
    process.env.LOGIN_RATE_LIMIT_PER_MINUTE = '100000';
    process.env.LOGIN_MAX_FAILURES = '100000';
    (await import('#platform/config')).resetConfig();
    for (let i = 0; i < 40; i++) {
      // Alternate so drift in machine load hits both equally; a fresh address each time keeps lockout out of it.
      for (const [name, list] of [
        ['admin', known],
        [`nobody-${i}`, unknown],
      ] as const) {
        const t = performance.now();
        await auth
          .login(name, 'wrong-password-for-bench', {
            requestId: 'bench',
            sourceIp: `10.${i}.0.${name === 'admin' ? 1 : 2}`,
          })
          .catch(() => undefined);
        list.push(performance.now() - t);
      }
    }
    const p50 = percentile(ours, 50);
    const p99 = percentile(ours, 99);
    const f50 = percentile(floor, 50);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    const diff = mean(known) - mean(unknown);
    const noise = Math.sqrt(sd(known) ** 2 / known.length + sd(unknown) ** 2 / unknown.length);
    return {
      title: `Authorizer and login (${CALLS} sequential authorizer calls against DynamoDB Local, interleaved with the floor's)`,
      markdown: [
        '| what | p50 ms | p99 ms |',
        '|---|---:|---:|',
        `| authorizer handler (verify + BatchGetItem + UpdateItem + middy/Powertools) | ${fmt(p50)} | ${fmt(p99)} |`,
        `| floor: crypto.verify + raw BatchGetItem + raw UpdateItem | ${fmt(f50)} | ${fmt(percentile(floor, 99))} |`,
        '',
        `Ratio p50 authorizer/floor: **${fmt(p50 / f50)}**. DynamoDB calls per authorized request: 2 — one consistent`,
        'BatchGetItem (user state: disabled, roles, tokensValidAfter; the jti revocation marker; the session/refresh family)',
        "and one UpdateItem (the per-user rate-limit counter; a user's first request of a minute adds one conditional write",
        'that moves it on), one after the other (the counter only for a token the state accepts), as the floor makes them. No KMS or Secrets',
        'Manager call: the JWKS is in memory.',
        '',
        '| login cost | mean ms | sd ms |',
        '|---|---:|---:|',
        `| Argon2id hash (m=19 MiB, t=2, p=1) | ${fmt(mean(hashes))} | ${fmt(sd(hashes))} |`,
        `| failed login, known username | ${fmt(mean(known))} | ${fmt(sd(known))} |`,
        `| failed login, unknown username | ${fmt(mean(unknown))} | ${fmt(sd(unknown))} |`,
        '',
        `Known − unknown: ${fmt(diff)} ms (standard error of the difference ${fmt(noise)} ms).`,
      ].join('\n'),
      targets: [
        { target: 'authorizer p50 ≤ 1.3× floor', met: p50 <= 1.3 * f50, measured: `${fmt(p50 / f50)}×` },
        { target: 'authorizer p99 < 15 ms', met: p99 < 15, measured: `${fmt(p99)} ms` },
        {
          target: 'hash 50–250 ms',
          met: mean(hashes) >= 50 && mean(hashes) <= 250,
          measured: `${fmt(mean(hashes))} ms`,
        },
        {
          target: 'known vs unknown username timing within noise (|diff| < 3 standard errors)',
          met: Math.abs(diff) < 3 * noise,
          measured: `${fmt(diff)} ms vs ${fmt(3 * noise)} ms`,
        },
      ],
    };
  } finally {
    await runtime.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
