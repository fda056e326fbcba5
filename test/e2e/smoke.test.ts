import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '#local/child-env';
import { PROJECT_ROOT } from '#local/paths';
import { derivedQaPassword, runSmoke } from '#scripts/smoke';
import { ADMIN_PASSWORD } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

const run = promisify(execFile);
let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi();
}, 60_000);

afterAll(() => api?.stop());

/** `npm run smoke` is what CI runs after each deploy: here it runs against the local server, the same handlers. */
describe('npm run smoke', () => {
  it('passes every step against the local API, and a second run reuses its QA user', async () => {
    // Act
    const lines: string[] = [];
    const first = await runSmoke(api.url, { username: 'admin', password: ADMIN_PASSWORD, log: (l) => lines.push(l) });
    const second = await runSmoke(api.url, { username: 'admin', password: ADMIN_PASSWORD, log: () => undefined });

    // Assess
    expect(first.articleId).toMatch(/^SMOKE-\d{14}$/);
    expect(first.steps).toEqual([
      'health: 200',
      'login as admin',
      'login as smoke-qa (created)',
      `create charge ${first.chargeId} (${first.articleId})`,
      'quarantine (admin)',
      'release (smoke-qa, four eyes, signed)',
      expect.stringMatching(/^audit records of the charge \(\d+\)$/),
      expect.stringMatching(/^PDF report \(\d+ bytes\)$/),
      expect.stringMatching(/^console: (200|skipped \(GET \/console\/ answers 404: no console on this API\))$/),
    ]);
    expect(lines.every((l) => l.startsWith('ok  '))).toBe(true);
    expect(second.steps).toContain('login as smoke-qa (reused)');
    expect(second.chargeId).not.toBe(first.chargeId);

    // The charge really went through the lifecycle, released by the other user.
    const charge = await api.request(`/charges/${first.chargeId}`, { token: await adminLogin() });
    expect(charge.json).toMatchObject({ status: 'released', version: 3, updatedBy: { username: 'smoke-qa' } });
  }, 120_000);

  it('fails at the step that broke, naming it: a wrong password stops it at login', async () => {
    await expect(
      runSmoke(api.url, { username: 'admin', password: 'wrong-password-1', log: () => undefined }),
    ).rejects.toThrow(/^login as admin: expected 200, got 401/);
  });

  it('derives a stable QA password from the admin password', () => {
    expect(derivedQaPassword('a')).toBe(derivedQaPassword('a'));
    expect(derivedQaPassword('a')).not.toBe(derivedQaPassword('b'));
  });

  it('runs as the CLI: exit 0 with a summary, exit 2 without a URL or credentials', async () => {
    const tsx = join(PROJECT_ROOT, 'node_modules/.bin/tsx');
    const env = childEnv({ SMOKE_USERNAME: 'admin', SMOKE_PASSWORD: ADMIN_PASSWORD });
    const { stdout } = await run(tsx, ['scripts/smoke.ts', api.url], { cwd: PROJECT_ROOT, env });
    expect(stdout).toMatch(/Smoke test passed: 9 steps, charge [0-9a-f-]{36} \(SMOKE-\d{14}\)/);

    const usage = await run(tsx, ['scripts/smoke.ts'], { cwd: PROJECT_ROOT, env }).catch((e: unknown) => e);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringMatching(/Usage: SMOKE_USERNAME=/) });
  }, 120_000);
});

async function adminLogin(): Promise<string> {
  const res = await api.request('/auth/login', {
    method: 'POST',
    body: { username: 'admin', password: ADMIN_PASSWORD },
    localAddress: '127.0.0.253',
  });
  return (res.json as { accessToken: string }).accessToken;
}
